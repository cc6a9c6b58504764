package nnunet

import (
	"fmt"

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
// otoseg's (volume.ResampleTo), whose B-spline matches scipy's order 3 away
// from the border and differs from skimage's 'edge' padding within two
// voxels of it.
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
		if v, err = resizeTo(v, shape, in); err != nil {
			return nil, err
		}
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
	if v, err = resizeTo(v, mid, in); err != nil {
		return nil, err
	}
	if v, err = resizeTo(v, shape, inZ); err != nil {
		return nil, err
	}
	return toArray(v), nil
}

// resizeTo samples v (unit spacing, origin 0) at shape (z y x) with the
// voxel-centre mapping of skimage's resize: output voxel j sits at input
// position (j + 0.5) * n / n' - 0.5.
func resizeTo(v *volume.Volume, shape [3]int, in volume.Interp) (*volume.Volume, error) {
	g := v.Geometry
	for a := range 3 {
		n, m := float64(v.Dims[a]), float64(shape[2-a])
		g.Dims[a] = shape[2-a]
		g.Spacing[a] = n / m
		g.Origin[a] = 0.5*n/m - 0.5
	}
	return volume.ResampleTo(v, g, in)
}
