// Package infer runs a trained network over an image larger than its
// patch: nnU-Net's sliding window with Gaussian importance weighting,
// mirroring test-time augmentation and the argmax that turns probabilities
// into labels. Training (validation), the localiser and segmentation share it.
package infer

import (
	"context"
	"fmt"
	"math"

	"github.com/otoseg/otoseg/internal/parallel"
	"github.com/otoseg/otoseg/nn"
)

// Net maps a normalised image patch of shape (1, 1, D, H, W) to class
// logits of shape (1, C, D, H, W). The returned tensor may be reused by the
// next call.
type Net interface {
	Logits(x *nn.Tensor) (*nn.Tensor, error)
}

// SlidingWindow is nnU-Net's sliding-window predictor: overlapping patches (step
// 0.5 of the patch), each prediction weighted by a Gaussian importance map
// (sigma = patch/8) so that patch borders count less, optional mirroring
// test-time augmentation, softmax averaged over everything.
type SlidingWindow struct {
	Patch  [3]int // x y z voxels
	Step   float64
	Mirror bool // 8 mirrored passes in 3-D

	gauss []float32
	in    *nn.Tensor
}

// Probabilities returns per-class probabilities (C planes of nx*ny*nz, x
// fastest) for a normalised image with the given dims. The image must be at
// least one patch in every axis.
func (w *SlidingWindow) Probabilities(ctx context.Context, net Net, img []float32, dims [3]int, classes int) ([]float32, error) {
	for a := 0; a < 3; a++ {
		if dims[a] < w.Patch[a] {
			return nil, fmt.Errorf("sliding window: image %v smaller than patch %v", dims, w.Patch)
		}
	}
	if w.gauss == nil {
		w.gauss = gaussianMap(w.Patch)
	}
	var starts [3][]int
	for a := 0; a < 3; a++ {
		starts[a] = windowStarts(dims[a], w.Patch[a], w.step())
	}
	n := dims[0] * dims[1] * dims[2]
	prob := make([]float32, classes*n)
	weight := make([]float32, n)
	px, py, pz := w.Patch[0], w.Patch[1], w.Patch[2]
	ps := px * py * pz
	acc := make([]float32, classes*ps)
	mirrors := [][3]bool{{false, false, false}}
	if w.Mirror {
		mirrors = mirrors[:0]
		for m := 0; m < 8; m++ {
			mirrors = append(mirrors, [3]bool{m&1 != 0, m&2 != 0, m&4 != 0})
		}
	}
	for _, z0 := range starts[2] {
		for _, y0 := range starts[1] {
			for _, x0 := range starts[0] {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				clear(acc)
				for _, m := range mirrors {
					if err := w.addPatch(acc, net, img, dims, [3]int{x0, y0, z0}, classes, m); err != nil {
						return nil, fmt.Errorf("sliding window: %w", err)
					}
				}
				inv := 1 / float32(len(mirrors))
				planes(pz, func(z int) {
					for y := 0; y < py; y++ {
						row := x0 + dims[0]*((y0+y)+dims[1]*(z0+z))
						pr := px * (y + py*z)
						for x := 0; x < px; x++ {
							g := w.gauss[pr+x]
							weight[row+x] += g
							for c := 0; c < classes; c++ {
								prob[c*n+row+x] += g * inv * acc[c*ps+pr+x]
							}
						}
					}
				})
			}
		}
	}
	plane := dims[0] * dims[1]
	planes(dims[2], func(z int) {
		for i := z * plane; i < (z+1)*plane; i++ {
			if wt := weight[i]; wt > 0 {
				for c := 0; c < classes; c++ {
					prob[c*n+i] /= wt
				}
			}
		}
	})
	return prob, nil
}

// step is Step, or 0.5 where Step is out of range.
func (w *SlidingWindow) step() float64 {
	if w.Step <= 0 || w.Step > 1 {
		return 0.5
	}
	return w.Step
}

// Patches is the number of patches Probabilities predicts for an image of
// the given dims (each mirrored when Mirror is set): what a prediction
// costs, for a caller choosing between regions to predict.
func (w *SlidingWindow) Patches(dims [3]int) int {
	n := 1
	for a := 0; a < 3; a++ {
		n *= len(windowStarts(dims[a], w.Patch[a], w.step()))
	}
	return n
}

// windowStarts spreads patches evenly so that neighbours overlap by at
// least 1-step of a patch and the last one ends at the image border.
func windowStarts(size, patch int, step float64) []int {
	if size <= patch {
		return []int{0}
	}
	target := step * float64(patch)
	n := int(math.Ceil(float64(size-patch)/target)) + 1
	out := make([]int, n)
	span := float64(size - patch)
	for i := range out {
		out[i] = int(math.Round(float64(i) * span / float64(n-1)))
	}
	return out
}

// gaussianMap is the importance map: a Gaussian with sigma = patch/8 per
// axis, scaled to a maximum of 1, with zeros replaced by the smallest
// non-zero value so every voxel keeps some weight.
func gaussianMap(p [3]int) []float32 {
	var g [3][]float64
	for a := 0; a < 3; a++ {
		g[a] = make([]float64, p[a])
		c := float64(p[a]-1) / 2
		s := float64(p[a]) / 8
		for i := range g[a] {
			d := float64(i) - c
			g[a][i] = math.Exp(-d * d / (2 * s * s))
		}
	}
	m := make([]float32, p[0]*p[1]*p[2])
	minNZ := float32(math.MaxFloat32)
	for z := 0; z < p[2]; z++ {
		for y := 0; y < p[1]; y++ {
			for x := 0; x < p[0]; x++ {
				v := float32(g[0][x] * g[1][y] * g[2][z])
				m[x+p[0]*(y+p[1]*z)] = v
				if v > 0 && v < minNZ {
					minNZ = v
				}
			}
		}
	}
	for i, v := range m {
		if v == 0 {
			m[i] = minNZ
		}
	}
	return m
}

// copyPatch copies the patch at start out of img, mirrored along the axes
// flagged in m.
func copyPatch(dst, img []float32, dims, start, patch [3]int, m [3]bool) {
	px, py, pz := patch[0], patch[1], patch[2]
	for z := 0; z < pz; z++ {
		sz := mirror(z, pz, m[2])
		for y := 0; y < py; y++ {
			sy := mirror(y, py, m[1])
			src := img[start[0]+dims[0]*((start[1]+sy)+dims[1]*(start[2]+sz)):]
			d := dst[px*(y+py*z):]
			if m[0] {
				for x := 0; x < px; x++ {
					d[x] = src[px-1-x]
				}
			} else {
				copy(d[:px], src[:px])
			}
		}
	}
}

// mirror is index i of an axis of n voxels, counted from the far end when
// flip is set: the mirroring copyPatch applies and addSoftmaxPlane undoes.
func mirror(i, n int, flip bool) int {
	if flip {
		return n - 1 - i
	}
	return i
}

// addSoftmax adds softmax(logits) into acc, undoing the mirroring m.
func addSoftmax(acc, logits []float32, classes, ps int, patch [3]int, m [3]bool) {
	planes(patch[2], func(z int) { addSoftmaxPlane(acc, logits, classes, ps, patch, m, z) })
}

// addSoftmaxPlane is addSoftmax on the patch's plane z; each voxel's
// classes are its own, so planes run concurrently and the sums do not
// depend on how they are shared out.
func addSoftmaxPlane(acc, logits []float32, classes, ps int, patch [3]int, m [3]bool, z int) {
	px, py, pz := patch[0], patch[1], patch[2]
	var buf [16]float32
	e := buf[:0]
	if classes > len(buf) {
		e = make([]float32, 0, classes)
	}
	e = e[:classes]
	dz := mirror(z, pz, m[2])
	for y := 0; y < py; y++ {
		dy := mirror(y, py, m[1])
		for x := 0; x < px; x++ {
			dx := mirror(x, px, m[0])
			src := x + px*(y+py*z)
			dst := dx + px*(dy+py*dz)
			mx := logits[src]
			for c := 1; c < classes; c++ {
				mx = max(mx, logits[c*ps+src])
			}
			var sum float32
			for c := 0; c < classes; c++ {
				e[c] = float32(math.Exp(float64(logits[c*ps+src] - mx)))
				sum += e[c]
			}
			for c := 0; c < classes; c++ {
				acc[c*ps+dst] += e[c] / sum
			}
		}
	}
}

// planes runs fn(z) for every plane z < n on every core: the per-voxel
// passes around the network (softmax, Gaussian accumulation,
// normalisation), which had left one of two cores idle between patches.
// Every voxel is written by one call, so the result is the same on any
// number of cores.
func planes(n int, fn func(z int)) {
	parallel.For(n, func() struct{} { return struct{}{} }, func(z int, _ struct{}) { fn(z) })
}

// OnePatch returns the per-class probabilities (C planes of the patch, x
// fastest) of one patch of img at start, predicted on the patch mirrored
// along the axes flagged in m and mirrored back: a second opinion on the
// same voxels, whose disagreement with the unmirrored prediction says how
// much the network's answer there depends on the view.
func (w *SlidingWindow) OnePatch(net Net, img []float32, dims, start [3]int, classes int, m [3]bool) ([]float32, error) {
	for a := 0; a < 3; a++ {
		if start[a] < 0 || start[a]+w.Patch[a] > dims[a] {
			return nil, fmt.Errorf("patch: start %v of patch %v outside image %v", start, w.Patch, dims)
		}
	}
	prob := make([]float32, classes*w.Patch[0]*w.Patch[1]*w.Patch[2])
	if err := w.addPatch(prob, net, img, dims, start, classes, m); err != nil {
		return nil, fmt.Errorf("patch: %w", err)
	}
	return prob, nil
}

// addPatch predicts the patch of img at start, mirrored along the axes
// flagged in m, and adds its softmax, mirrored back, into acc (C planes of
// the patch).
func (w *SlidingWindow) addPatch(acc []float32, net Net, img []float32, dims, start [3]int, classes int, m [3]bool) error {
	px, py, pz := w.Patch[0], w.Patch[1], w.Patch[2]
	w.in = nn.Ensure(w.in, [5]int{1, 1, pz, py, px})
	copyPatch(w.in.Data, img, dims, start, w.Patch, m)
	out, err := net.Logits(w.in)
	if err != nil {
		return err
	}
	if out.Shape != [5]int{1, classes, pz, py, px} {
		return fmt.Errorf("network returned %v, want %d classes on %v", out.Shape, classes, w.Patch)
	}
	addSoftmax(acc, out.Data, classes, px*py*pz, w.Patch, m)
	return nil
}
