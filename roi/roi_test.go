package roi

import (
	"math"
	"testing"
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
