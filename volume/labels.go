package volume

import (
	"fmt"
	"math"
	"sync"

	"github.com/otoseg/otoseg/internal/parallel"
)

// MaxLabel is the largest label value ResampleLabels accepts.
const MaxLabel = 1<<16 - 1

// ResampleLabels resamples a label map to spacing (grid as in
// ResampledGeometry). Each label is interpolated linearly as a one-hot
// image and every target voxel takes the label with the largest value
// (ties go to the smaller label), as nnU-Net resamples segmentations; the
// vote is computed from the 8 neighbours at once rather than one image per
// label. A label present in the input that loses every vote is then given
// the target voxel where its interpolated weight is largest, so no label
// that overlaps the new grid at all disappears. Labels must be integers in
// [0, MaxLabel].
func ResampleLabels(v *Volume, spacing [3]float64) (*Volume, error) {
	tg, err := ResampledGeometry(v.Geometry, spacing)
	if err != nil {
		return nil, err
	}
	return resampleLabels(v, tg, false)
}

// ResampleLabelsTo is ResampleLabels onto any target grid, e.g. to paste a
// segmentation made on an ROI back into the original image's geometry.
// Target voxels more than half a voxel outside the input get label 0.
func ResampleLabelsTo(v *Volume, target Geometry) (*Volume, error) {
	if err := target.Validate(); err != nil {
		return nil, fmt.Errorf("volume: resample labels target: %w", err)
	}
	return resampleLabels(v, target, true)
}

func resampleLabels(v *Volume, tg Geometry, useFill bool) (*Volume, error) {
	if err := v.Check(); err != nil {
		return nil, fmt.Errorf("volume: resample labels input: %w", err)
	}
	maxL := 0
	for _, x := range v.Data {
		if !(x >= 0 && x <= MaxLabel) || x != float32(math.Trunc(float64(x))) {
			return nil, fmt.Errorf("volume: resample labels: voxel value %g is not an integer label in [0, %d]", x, MaxLabel)
		}
		maxL = max(maxL, int(x))
	}
	present := make([]bool, maxL+1)
	for _, x := range v.Data {
		present[int(x)] = true
	}
	out := New(tg, v.DType)
	mp := newMapping(v.Geometry, tg)
	s := sampler{dims: v.Dims, k: 2, useFill: useFill}
	// Target voxels outside the box keep label 0 without being sampled.
	box0, box1 := targetBox(v.Geometry, tg, useFill)
	nx, ny := v.Dims[0], v.Dims[1]
	mx, my, mz := tg.Dims[0], tg.Dims[1], tg.Dims[2]

	// best[l] is the largest one-hot weight label l reached at any target
	// voxel and where, merged across workers afterwards.
	type best struct {
		w   []float32
		at  []int
		mux sync.Mutex
	}
	global := best{w: make([]float32, maxL+1), at: make([]int, maxL+1)}
	type scratch struct {
		w   []float32
		at  []int
		idx [3][4]int32
		wt  [3][4]float32
	}
	parallel.For(mz, func() *scratch {
		return &scratch{w: make([]float32, maxL+1), at: make([]int, maxL+1)}
	}, func(z int, sc *scratch) {
		var labs [8]int
		var ws [8]float32
		if z < box0[2] || z >= box1[2] {
			return
		}
		for j := box0[1]; j < box1[1]; j++ {
			base := (z*my + j) * mx
			for i := box0[0]; i < box1[0]; i++ {
				var p [3]float64
				for r := 0; r < 3; r++ {
					p[r] = mp.b[r] + mp.m[r][0]*float64(i) + mp.m[r][1]*float64(j) + mp.m[r][2]*float64(z)
				}
				if !s.taps(p[0], v.Dims[0], sc.idx[0][:2], sc.wt[0][:2]) ||
					!s.taps(p[1], v.Dims[1], sc.idx[1][:2], sc.wt[1][:2]) ||
					!s.taps(p[2], v.Dims[2], sc.idx[2][:2], sc.wt[2][:2]) {
					continue // stays 0
				}
				n := 0
				for c := 0; c < 2; c++ {
					for b := 0; b < 2; b++ {
						off := int(sc.idx[2][c])*nx*ny + int(sc.idx[1][b])*nx
						wzy := sc.wt[2][c] * sc.wt[1][b]
						for a := 0; a < 2; a++ {
							w := wzy * sc.wt[0][a]
							if w == 0 {
								continue
							}
							l := int(v.Data[off+int(sc.idx[0][a])])
							q := 0
							for q < n && labs[q] != l {
								q++
							}
							if q == n {
								labs[n], ws[n] = l, 0
								n++
							}
							ws[q] += w
						}
					}
				}
				if n == 0 {
					continue
				}
				bl, bw := labs[0], ws[0]
				for q := 0; q < n; q++ {
					l, w := labs[q], ws[q]
					if w > bw || (w == bw && l < bl) {
						bl, bw = l, w
					}
					if w > sc.w[l] {
						sc.w[l], sc.at[l] = w, base+i
					}
				}
				out.Data[base+i] = float32(bl)
			}
		}
		global.mux.Lock()
		for l, w := range sc.w {
			if w > global.w[l] || (w == global.w[l] && w > 0 && sc.at[l] < global.at[l]) {
				global.w[l], global.at[l] = w, sc.at[l]
			}
		}
		global.mux.Unlock()
	})
	got := make([]bool, maxL+1)
	for _, x := range out.Data {
		got[int(x)] = true
	}
	for l := 1; l <= maxL; l++ {
		if present[l] && !got[l] && global.w[l] > 0 {
			out.Data[global.at[l]] = float32(l)
		}
	}
	return out, nil
}
