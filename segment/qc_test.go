package segment

import (
	"context"
	"math"
	"testing"

	"github.com/otoseg/otoseg/infer"
	"github.com/otoseg/otoseg/nn"
)

// voxelNet calls a voxel labyrinth (class 1) where the input is positive,
// from the voxel alone: its mirrored view agrees with the plain one.
// With skew it also leans on the patch's x position, as a network that
// sees the scan differently mirrored would.
type voxelNet struct {
	skew float32
	out  *nn.Tensor
}

func (v *voxelNet) Logits(x *nn.Tensor) (*nn.Tensor, error) {
	s := x.Shape
	v.out = nn.Ensure(v.out, [5]int{1, 2, s[2], s[3], s[4]})
	n := x.Spatial()
	for i, val := range x.Data {
		v.out.Data[i] = 0
		v.out.Data[n+i] = 6*val + v.skew*(float32(i%s[4])-float32(s[4])/2)
	}
	return v.out, nil
}

// TestMirrorGap: no disagreement for a network that ignores the view, some
// for one that does, and full disagreement without any labyrinth.
func TestMirrorGap(t *testing.T) {
	dims := [3]int{24, 20, 16}
	img := make([]float32, dims[0]*dims[1]*dims[2])
	for z := 0; z < dims[2]; z++ {
		for y := 0; y < dims[1]; y++ {
			for x := 0; x < dims[0]; x++ {
				r := math.Hypot(math.Hypot(float64(x)-11, float64(y)-9), float64(z)-7)
				img[x+dims[0]*(y+dims[1]*z)] = float32(4 - r)
			}
		}
	}
	gap := func(net infer.Net, img []float32) float64 {
		t.Helper()
		w := infer.SlidingWindow{Patch: [3]int{16, 16, 16}}
		prob, err := w.Probabilities(context.Background(), net, img, dims, 2)
		if err != nil {
			t.Fatal(err)
		}
		lo, hi, ok := foregroundBox(prob, 2, dims)
		g, err := mirrorGap(&w, net, img, prob, dims, 2, lo, hi, ok)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	if g := gap(&voxelNet{}, img); g > 1e-6 {
		t.Errorf("view-blind network: gap %.6f, want 0", g)
	}
	if g := gap(&voxelNet{skew: 0.5}, img); g < 0.05 || g > 0.95 {
		t.Errorf("view-dependent network: gap %.3f, want clearly between 0 and 1", g)
	}
	empty := make([]float32, len(img))
	for i := range empty {
		empty[i] = -5
	}
	if g := gap(&voxelNet{}, empty); g != 1 {
		t.Errorf("no labyrinth: gap %.3f, want 1", g)
	}
}
