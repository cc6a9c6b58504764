package ear

import (
	"math"
	"slices"
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
	one.Set(135, 5, 5, 3) // 15 mm away, under EarGapMM: same ear
	if e := FindEars(one); len(e) != 1 || e[0].Side != Left || e[0].Voxels != 2 {
		t.Errorf("single ear: %+v", e)
	}
	one.Set(135, 5, 5, 0)
	one.Set(130, 5, 5, 3) // a gap of EarGapMM splits
	if e := FindEars(one); len(e) != 2 || e[0].Side != Right || e[1].Side != Left {
		t.Errorf("labels %g mm apart: %+v, want two ears", EarGapMM, e)
	}
	if e := FindEars(volume.New(g, volume.Uint8)); e != nil {
		t.Errorf("empty label map gave ears %+v", e)
	}
}

func TestSplitEars(t *testing.T) {
	tests := []struct {
		name      string
		xs        []float64
		gap       float64
		split     bool
		plane     float64
		widest    float64
		sides     []Side // of xs as given
		centroidX float64
	}{
		{"two ears", []float64{50, -48, 47, -50}, 0, true, -0.5, 95, []Side{Left, Right, Left, Right}, -0.25},
		{"one left ear", []float64{12, 3, 8}, 0, false, 0, 5, []Side{Left, Left, Left}, 23.0 / 3},
		{"one right ear straddling the midline", []float64{-10, 2}, 0, false, 0, 12, []Side{Right, Right}, -4},
		{"gap exactly EarGapMM splits", []float64{10, 30}, 0, true, 20, 20, []Side{Right, Left}, 20},
		{"caller's gap", []float64{10, 30}, 25, false, 0, 20, []Side{Left, Left}, 20},
		{"one voxel", []float64{-7}, 0, false, 0, 0, []Side{Right}, -7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			xs := slices.Clone(tt.xs)
			s := SplitEars(xs, tt.gap)
			if s.Split != tt.split || s.PlaneX != tt.plane || s.GapMM != tt.widest || math.Abs(s.CentroidX-tt.centroidX) > 1e-12 {
				t.Fatalf("got %+v, want split %v plane %g gap %g centroid %g", s, tt.split, tt.plane, tt.widest, tt.centroidX)
			}
			for i, x := range tt.xs {
				if got := s.Side(x); got != tt.sides[i] {
					t.Errorf("x = %g: %v, want %v", x, got, tt.sides[i])
				}
			}
		})
	}
	if s := SplitEars(nil, 0); s != (EarSplit{}) {
		t.Errorf("no voxels: %+v", s)
	}
}

// TestLabelCentre: the centre of a structure in the ear with more voxels,
// whichever side it is on, and nothing for a label that is absent.
func TestLabelCentre(t *testing.T) {
	g := volume.NewGeometry([3]int{100, 10, 10}, [3]float64{1, 1, 1})
	lab := volume.New(g, volume.Uint8)
	set := func(i, j, k int, l Label) { lab.Data[lab.Index(i, j, k)] = float32(l) }
	// A right ear (low x) of 3 voxels, a left ear (high x) of 4.
	set(10, 5, 5, Cochlea)
	set(11, 5, 5, Vestibule)
	set(12, 5, 5, Vestibule)
	set(80, 2, 2, Cochlea)
	set(82, 2, 2, Cochlea)
	set(84, 4, 4, Vestibule)
	set(85, 4, 4, Canals)
	for _, tt := range []struct {
		want Label
		c    [3]int
		ok   bool
	}{
		{Background, [3]int{83, 3, 3}, true},
		{Cochlea, [3]int{81, 2, 2}, true},
		{Canals, [3]int{85, 4, 4}, true},
	} {
		c, ok := LabelCentre(lab, tt.want)
		if c != tt.c || ok != tt.ok {
			t.Errorf("label %d: got %v %v, want %v %v", tt.want, c, ok, tt.c, tt.ok)
		}
	}
	empty := volume.New(g, volume.Uint8)
	if _, ok := LabelCentre(empty, Background); ok {
		t.Error("an empty label map has a centre")
	}
}
