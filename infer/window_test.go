package infer

import (
	"context"
	"math"
	"testing"

	"github.com/otoseg/otoseg/nn"
)

// thresholdNet predicts class 1 where the input exceeds 0, with logits that
// depend only on the voxel itself, so any correct tiling reproduces it.
type thresholdNet struct{ out *nn.Tensor }

func (t *thresholdNet) Logits(x *nn.Tensor) (*nn.Tensor, error) {
	s := x.Shape
	t.out = nn.Ensure(t.out, [5]int{1, 2, s[2], s[3], s[4]})
	n := x.Spatial()
	for i, v := range x.Data {
		t.out.Data[i] = 0
		t.out.Data[n+i] = 4 * v
	}
	return t.out, nil
}

func TestWindowStarts(t *testing.T) {
	tests := []struct {
		size, patch int
		want        []int
	}{
		{64, 64, []int{0}},
		{80, 64, []int{0, 16}},
		{100, 40, []int{0, 20, 40, 60}},
	}
	for _, tt := range tests {
		got := windowStarts(tt.size, tt.patch, 0.5)
		if len(got) != len(tt.want) {
			t.Errorf("windowStarts(%d,%d) = %v, want %v", tt.size, tt.patch, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("windowStarts(%d,%d) = %v, want %v", tt.size, tt.patch, got, tt.want)
			}
		}
	}
}

func TestPatchesCountsWindows(t *testing.T) {
	w := &SlidingWindow{Patch: [3]int{64, 64, 48}, Step: 0.75}
	for _, tt := range []struct {
		dims [3]int
		want int
	}{
		{[3]int{64, 64, 48}, 1},
		{[3]int{112, 64, 48}, 2},   // 48 voxels apart: one step
		{[3]int{113, 64, 48}, 3},   // a voxel more: another patch
		{[3]int{153, 153, 80}, 18}, // a whole head at 1.5 mm
	} {
		if got := w.Patches(tt.dims); got != tt.want {
			t.Errorf("Patches(%v) = %d, want %d", tt.dims, got, tt.want)
		}
	}
}

func TestWindowReproducesVoxelwiseNet(t *testing.T) {
	dims := [3]int{21, 17, 13}
	img := make([]float32, dims[0]*dims[1]*dims[2])
	for i := range img {
		img[i] = float32(math.Sin(float64(i) * 0.37))
	}
	for _, mirror := range []bool{false, true} {
		w := SlidingWindow{Patch: [3]int{8, 8, 8}, Mirror: mirror}
		prob, err := w.Probabilities(context.Background(), &thresholdNet{}, img, dims, 2)
		if err != nil {
			t.Fatal(err)
		}
		n := len(img)
		for i, v := range img {
			want := 1 / (1 + math.Exp(-4*float64(v)))
			if math.Abs(float64(prob[n+i])-want) > 1e-5 || math.Abs(float64(prob[i]+prob[n+i])-1) > 1e-5 {
				t.Fatalf("mirror=%v voxel %d: p1=%v want %v", mirror, i, prob[n+i], want)
			}
		}
	}
}

func TestWindowRejectsSmallImage(t *testing.T) {
	w := SlidingWindow{Patch: [3]int{8, 8, 8}}
	if _, err := w.Probabilities(context.Background(), &thresholdNet{}, make([]float32, 7*8*8), [3]int{7, 8, 8}, 2); err == nil {
		t.Error("no error for an image smaller than the patch")
	}
}

// TestPatchMirroredBack checks that a mirrored single patch, mirrored
// back, lands on the voxels it came from: a voxelwise network must give
// the sliding window's probabilities there, under every mirroring.
func TestPatchMirroredBack(t *testing.T) {
	dims := [3]int{21, 17, 13}
	img := make([]float32, dims[0]*dims[1]*dims[2])
	for i := range img {
		img[i] = float32(math.Sin(float64(i) * 0.37))
	}
	w := SlidingWindow{Patch: [3]int{8, 8, 8}}
	full, err := w.Probabilities(context.Background(), &thresholdNet{}, img, dims, 2)
	if err != nil {
		t.Fatal(err)
	}
	n := len(img)
	start := [3]int{5, 3, 4}
	for m := 0; m < 8; m++ {
		mir := [3]bool{m&1 != 0, m&2 != 0, m&4 != 0}
		p, err := w.OnePatch(&thresholdNet{}, img, dims, start, 2, mir)
		if err != nil {
			t.Fatal(err)
		}
		for z := 0; z < 8; z++ {
			for y := 0; y < 8; y++ {
				for x := 0; x < 8; x++ {
					i := start[0] + x + dims[0]*(start[1]+y+dims[1]*(start[2]+z))
					got, want := p[512+x+8*(y+8*z)], full[n+i]
					if math.Abs(float64(got-want)) > 1e-5 {
						t.Fatalf("mirror %v voxel (%d,%d,%d): %v, want %v", mir, x, y, z, got, want)
					}
				}
			}
		}
	}
	if _, err := w.OnePatch(&thresholdNet{}, img, dims, [3]int{14, 0, 0}, 2, [3]bool{}); err == nil {
		t.Error("a patch past the image's end was accepted")
	}
}
