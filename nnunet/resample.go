package nnunet

import (
	"fmt"
	"math"

	"github.com/otoseg/otoseg/volume"
)

// anisotropyThreshold is nnU-Net's: a spacing whose largest axis is more
// than 3 times its smallest resamples that axis separately.
const anisotropyThreshold = 3

// separateAxis is nnU-Net's choice of the axis resampled on its own (-1:
// none): forced by the plan, or the single coarsest axis of the source
// spacing, else of the target spacing, when that spacing is anisotropic.
func separateAxis(r Resampling, from, to [3]float64) int {
	lowres := func(s [3]float64) int {
		hi, axis, n := max(s[0], s[1], s[2]), -1, 0
		for a, v := range s {
			if v == hi {
				axis, n = a, n+1
			}
		}
		if n != 1 {
			return -1 // two or three coarsest axes: nnU-Net resamples in 3-D
		}
		return axis
	}
	aniso := func(s [3]float64) bool { return max(s[0], s[1], s[2])/min(s[0], s[1], s[2]) > anisotropyThreshold }
	switch {
	case r.ForceSeparateZ != nil && *r.ForceSeparateZ:
		return lowres(from)
	case r.ForceSeparateZ != nil:
		return -1
	case aniso(from):
		return lowres(from)
	case aniso(to):
		return lowres(to)
	}
	return -1
}

func interpOf(order int) (volume.Interp, error) {
	switch order {
	case 0:
		return volume.Nearest, nil
	case 1:
		return volume.Linear, nil
	case 3:
		return volume.BSpline, nil
	}
	return 0, fmt.Errorf("interpolation order %d: otoseg resamples with order 0, 1 or 3", order)
}

// resampleArray is nnU-Net's resample_data_or_seg_to_shape for one
// channel: nothing when the shape is kept; else skimage's resize (voxel
// centres mapped as in scipy's zoom with grid_mode, edge values beyond) of
// the given order, or, for an anisotropic spacing, that order within the
// fine axes and order_z along the coarse one. The interpolation is
// otoseg's (volume.ResampleToFill) on scipy's padded grid, and the output is
// clipped to the input's range as skimage does: on the test phantom the
// resampled image matches skimage's to 1e-6.
func resampleArray(a *array, shape [3]int, r Resampling, from, to [3]float64) (*array, error) {
	if shape == a.dims {
		return a, nil
	}
	in, err := interpOf(r.Order)
	if err != nil {
		return nil, err
	}
	v := volume.New(volume.NewGeometry([3]int{a.dims[2], a.dims[1], a.dims[0]}, [3]float64{1, 1, 1}), volume.Float32)
	copy(v.Data, a.data)
	axis := separateAxis(r, from, to)
	if axis < 0 {
		lo, hi := minMax(v.Data)
		if v, err = resizeTo(v, shape, in); err != nil {
			return nil, err
		}
		clip(v.Data, lo, hi)
		return toArray(v), nil
	}
	inZ, err := interpOf(r.OrderZ)
	if err != nil {
		return nil, err
	}
	// First the fine axes (the coarse one keeps its size, so its spline
	// passes through the samples), then the coarse axis on its own.
	mid := shape
	mid[axis] = a.dims[axis]
	ranges := sliceRanges(a, axis)
	if v, err = resizeTo(v, mid, in); err != nil {
		return nil, err
	}
	clipSlices(toArrayView(v), axis, ranges)
	v.Geometry = volume.NewGeometry(v.Dims, [3]float64{1, 1, 1}) // resizeTo works on the unit grid
	if v, err = resizeTo(v, shape, inZ); err != nil {
		return nil, err
	}
	return toArray(v), nil
}

// resizeTo samples v (unit spacing, origin 0) at shape (z y x) with the
// voxel-centre mapping of skimage's resize: output voxel j sits at input
// position (j + 0.5) * n / n' - 0.5. For the B-spline it first pads 12
// edge voxels on every side, as scipy does for mode 'nearest' before its
// mirror-boundary prefilter, so the coefficients near the border match.
func resizeTo(v *volume.Volume, shape [3]int, in volume.Interp) (*volume.Volume, error) {
	pad := 0
	if in == volume.BSpline {
		pad = splinePad
		v = edgePad(v, pad)
	}
	g := v.Geometry
	for a := range 3 {
		n, m := float64(v.Dims[a]-2*pad), float64(shape[2-a])
		g.Dims[a] = shape[2-a]
		g.Spacing[a] = n / m
		g.Origin[a] = 0.5*n/m - 0.5 + float64(pad)
	}
	return volume.ResampleToFill(v, g, in, 0)
}

// splinePad is scipy's npad for mode 'nearest' spline interpolation.
const splinePad = 12

// edgePad returns v grown by p voxels per side, repeating the edge values
// (numpy's pad mode 'edge'), on a unit grid with the origin at 0.
func edgePad(v *volume.Volume, p int) *volume.Volume {
	d := v.Dims
	out := volume.New(volume.NewGeometry([3]int{d[0] + 2*p, d[1] + 2*p, d[2] + 2*p}, [3]float64{1, 1, 1}), volume.Float32)
	clampi := func(i, n int) int { return min(max(i, 0), n-1) }
	for k := range out.Dims[2] {
		sk := clampi(k-p, d[2])
		for j := range out.Dims[1] {
			sj := clampi(j-p, d[1])
			src := v.Data[v.Index(0, sj, sk):][:d[0]]
			dst := out.Data[out.Index(0, j, k):][:out.Dims[0]]
			for i := range dst {
				dst[i] = src[clampi(i-p, d[0])]
			}
		}
	}
	return out
}

// skimage's resize clips its output to the input's range (clip=True), which
// matters for order 3: the spline overshoots at the clipped CT values.
func minMax(d []float32) (lo, hi float32) {
	lo, hi = d[0], d[0]
	for _, v := range d {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

func clip(d []float32, lo, hi float32) {
	for i, v := range d {
		d[i] = min(max(v, lo), hi)
	}
}

// sliceRanges is each slice's [min, max] along axis: nnU-Net resizes an
// anisotropic image slice by slice, so each is clipped to its own range.
func sliceRanges(a *array, axis int) [][2]float32 {
	out := make([][2]float32, a.dims[axis])
	for i := range out {
		out[i] = [2]float32{float32(math.Inf(1)), float32(math.Inf(-1))}
	}
	forEachVoxel(a, func(idx [3]int, i int) {
		r := &out[idx[axis]]
		r[0], r[1] = min(r[0], a.data[i]), max(r[1], a.data[i])
	})
	return out
}

func clipSlices(a *array, axis int, ranges [][2]float32) {
	forEachVoxel(a, func(idx [3]int, i int) {
		r := ranges[idx[axis]]
		a.data[i] = min(max(a.data[i], r[0]), r[1])
	})
}

func forEachVoxel(a *array, f func(idx [3]int, i int)) {
	i := 0
	for z := range a.dims[0] {
		for y := range a.dims[1] {
			for x := range a.dims[2] {
				f([3]int{z, y, x}, i)
				i++
			}
		}
	}
}

// toArrayView is toArray without the copy: the array shares v's voxels.
func toArrayView(v *volume.Volume) *array {
	return &array{dims: [3]int{v.Dims[2], v.Dims[1], v.Dims[0]}, data: v.Data}
}
