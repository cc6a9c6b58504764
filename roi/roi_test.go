package roi

import (
	"math"
	"testing"

	"github.com/otoseg/otoseg/volume"
)

func TestGridIsCentredAndMirrored(t *testing.T) {
	c := [3]float64{-47, 10, 5}
	for _, side := range []Side{Left, Right} {
		g := Grid(c, side, [3]int{64, 48, 33}, [3]float64{0.3, 0.3, 0.5})
		if err := g.Validate(); err != nil {
			t.Fatal(err)
		}
		mid := g.World(31.5, 23.5, 16)
		for a := 0; a < 3; a++ {
			if math.Abs(mid[a]-c[a]) > 1e-9 {
				t.Fatalf("%v: grid centre %v, want %v", side, mid, c)
			}
		}
		// Moving along i must move laterally: +x (left) for a left ear, -x for a right ear.
		step := g.World(1, 0, 0)[0] - g.World(0, 0, 0)[0]
		if (side == Left) != (step > 0) {
			t.Errorf("%v: i step in x = %v, want lateral", side, step)
		}
	}
}

func TestDimsFor(t *testing.T) {
	tests := []struct {
		size, sp [3]float64
		m        int
		want     [3]int
	}{
		{[3]float64{24, 24, 24}, [3]float64{0.375, 0.375, 0.375}, 16, [3]int{64, 64, 64}},
		{[3]float64{20, 20, 20}, [3]float64{0.3, 0.3, 0.6}, 16, [3]int{80, 80, 48}},
		{[3]float64{1, 1, 1}, [3]float64{1, 1, 1}, 8, [3]int{8, 8, 8}},
	}
	for _, tt := range tests {
		if got := DimsFor(tt.size, tt.sp, tt.m); got != tt.want {
			t.Errorf("DimsFor(%v,%v,%d) = %v, want %v", tt.size, tt.sp, tt.m, got, tt.want)
		}
	}
}

func TestFindEars(t *testing.T) {
	g := volume.NewGeometry([3]int{200, 20, 20}, [3]float64{1, 1, 1})
	g.Origin = [3]float64{-100, 0, 0}
	both := volume.New(g, volume.Uint8)
	// Right ear around x = -48, left ear around x = +47.
	for _, x := range []int{50, 51, 52, 53, 145, 149} {
		both.Set(x, 5, 5, 1)
	}
	ears := FindEars(both)
	if len(ears) != 2 {
		t.Fatalf("found %d ears, want 2", len(ears))
	}
	for _, e := range ears {
		want := Right
		if e.Centre[0] > 0 {
			want = Left
		}
		if e.Side != want {
			t.Errorf("ear at x=%v reported %v", e.Centre[0], e.Side)
		}
	}
	if ears[0].ExtentMM[0] != 4 || ears[0].Voxels != 4 {
		t.Errorf("right ear %+v, want extent 4 mm and 4 voxels", ears[0])
	}
	one := volume.New(g, volume.Uint8)
	one.Set(150, 5, 5, 2)
	one.Set(130, 5, 5, 3) // 20 mm away: same ear
	if e := FindEars(one); len(e) != 1 || e[0].Side != Left {
		t.Errorf("single ear: %+v", e)
	}
	if e := FindEars(volume.New(g, volume.Uint8)); e != nil {
		t.Errorf("empty label map gave ears %+v", e)
	}
}
