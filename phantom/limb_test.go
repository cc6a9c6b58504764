package phantom

import (
	"math/rand/v2"
	"testing"

	"github.com/otoseg/otoseg/volume"
)

// TestLimbAndBlank checks what the localiser's negatives hold: a limb has
// air, soft tissue and cortical bone but nothing like a labyrinth's
// fluid-in-dense-bone; a blank scan is air and noise; both come from rng
// alone, drawing the same count of numbers.
func TestLimbAndBlank(t *testing.T) {
	stats := func(v *volume.Volume) (air, soft, bone int) {
		for _, x := range v.Data {
			switch {
			case x < -800:
				air++
			case x > -150 && x < 150:
				soft++
			case x > 1300:
				bone++
			}
		}
		return
	}
	for _, tc := range []struct {
		name       string
		make       func(*rand.Rand) *volume.Volume
		wantTissue bool
	}{
		{"limb", Limb, true},
		{"blank", Blank, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r1, r2 := rand.New(rand.NewPCG(3, 4)), rand.New(rand.NewPCG(3, 4))
			a, b := tc.make(r1), tc.make(r2)
			if a.Dims != [3]int{256, 256, 64} || a.Spacing[2] != 1 || a.Spacing[0] < 0.4 || a.Spacing[0] > 0.6 {
				t.Fatalf("geometry %v spacing %v", a.Dims, a.Spacing)
			}
			for i := range a.Data {
				if a.Data[i] != b.Data[i] {
					t.Fatal("same rng state, different scans")
				}
			}
			air, soft, bone := stats(a)
			n := len(a.Data)
			if air == 0 {
				t.Error("no air")
			}
			if tc.wantTissue && (soft < n/10 || bone == 0) {
				t.Errorf("limb: %d soft-tissue and %d bone voxels of %d", soft, bone, n)
			}
			if !tc.wantTissue && (air < n*99/100 || bone > 0) {
				t.Errorf("blank: %d air and %d bone voxels of %d", air, bone, n)
			}
			if r1.Uint64() != r2.Uint64() {
				t.Error("rng streams diverged")
			}
		})
	}
	// Limb and Blank consume the same numbers, so the next draw agrees.
	r1, r2 := rand.New(rand.NewPCG(5, 6)), rand.New(rand.NewPCG(5, 6))
	Limb(r1)
	Blank(r2)
	if r1.Uint64() != r2.Uint64() {
		t.Error("Limb and Blank draw different counts of numbers")
	}
}
