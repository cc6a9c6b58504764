package nifti

import (
	"fmt"
	"math"
)

// float32Eps is numpy's finfo(float32).eps, used for nibabel's tolerance.
const float32Eps = 1.1920929e-07

// Affine sources, as reported by BestAffine.
const (
	FromSform = "sform"
	FromQform = "qform"
	FromBase  = "pixdim"
)

// BestAffine is the voxel-to-RAS affine nibabel's get_best_affine picks: the
// sform if sform_code > 0, else the qform if qform_code > 0, else the
// pixdim-only base affine (x flipped, centred on the volume).
func (h *Header) BestAffine() ([4][4]float64, string, error) {
	switch {
	case h.SformCode > 0:
		return h.SformAffine(), FromSform, nil
	case h.QformCode > 0:
		a, err := h.QformAffine()
		return a, FromQform, err
	}
	return h.BaseAffine(), FromBase, nil
}

// SformAffine is the affine of the srow_x/y/z rows.
func (h *Header) SformAffine() [4][4]float64 {
	var a [4][4]float64
	for r := range 3 {
		a[r] = h.Srow[r]
	}
	a[3][3] = 1
	return a
}

// QformAffine builds the affine from the quaternion, qoffset, pixdim[1:4]
// and qfac (pixdim[0], where 0 counts as 1 as the standard says).
func (h *Header) QformAffine() ([4][4]float64, error) {
	var a [4][4]float64
	b, c, d := h.Quatern[0], h.Quatern[1], h.Quatern[2]
	w2 := 1 - (b*b + c*c + d*d)
	var w float64
	if w2 < 0 {
		// nibabel tolerates rounding (3 float32 eps) and clamps to 0.
		if w2 < -3*float32Eps {
			return a, fmt.Errorf("qform quaternion (%g, %g, %g) has norm > 1", b, c, d)
		}
	} else {
		w = math.Sqrt(w2)
	}
	r := quatToMat(w, b, c, d)
	vox := [3]float64{h.Pixdim[1], h.Pixdim[2], h.Pixdim[3]}
	for i, v := range vox {
		if v < 0 {
			return a, fmt.Errorf("pixdim[%d] is %g, want >= 0", i+1, v)
		}
	}
	if h.Pixdim[0] < 0 {
		vox[2] = -vox[2]
	}
	for i := range 3 {
		for j := range 3 {
			a[i][j] = r[i][j] * vox[j]
		}
		a[i][3] = h.QOffset[i]
	}
	a[3][3] = 1
	return a, nil
}

// quatToMat is nibabel's quat2mat: the rotation of quaternion (w, x, y, z),
// normalised.
func quatToMat(w, x, y, z float64) [3][3]float64 {
	n := w*w + x*x + y*y + z*z
	if n < 1e-15 {
		return [3][3]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}
	}
	s := 2 / n
	X, Y, Z := x*s, y*s, z*s
	wX, wY, wZ := w*X, w*Y, w*Z
	xX, xY, xZ := x*X, x*Y, x*Z
	yY, yZ, zZ := y*Y, y*Z, z*Z
	return [3][3]float64{
		{1 - (yY + zZ), xY - wZ, xZ + wY},
		{xY + wZ, 1 - (xX + zZ), yZ - wX},
		{xZ - wY, yZ + wX, 1 - (xX + yY)},
	}
}

// BaseAffine is nibabel's Analyze base affine: diag(-dx, dy, dz) with the
// volume's centre voxel at the world origin.
func (h *Header) BaseAffine() [4][4]float64 {
	var a [4][4]float64
	nd := int(h.Dim[0])
	for i := range 3 {
		n, z := int64(1), 1.0
		if i+1 <= nd {
			n, z = h.Dim[i+1], h.Pixdim[i+1]
		}
		if i == 0 {
			z = -z
		}
		a[i][i] = z
		a[i][3] = -float64(n-1) / 2 * z
	}
	a[3][3] = 1
	return a
}

// matToQuat is the quaternion (b, c, d with a >= 0) of rotation r, following
// nifti_mat44_to_quatern.
func matToQuat(r [3][3]float64) (b, c, d float64) {
	var a float64
	tr := r[0][0] + r[1][1] + r[2][2] + 1
	if tr > 0.5 {
		a = 0.5 * math.Sqrt(tr)
		b = 0.25 * (r[2][1] - r[1][2]) / a
		c = 0.25 * (r[0][2] - r[2][0]) / a
		d = 0.25 * (r[1][0] - r[0][1]) / a
	} else {
		xd := 1 + r[0][0] - (r[1][1] + r[2][2])
		yd := 1 + r[1][1] - (r[0][0] + r[2][2])
		zd := 1 + r[2][2] - (r[0][0] + r[1][1])
		switch {
		case xd > 1:
			b = 0.5 * math.Sqrt(xd)
			c = 0.25 * (r[0][1] + r[1][0]) / b
			d = 0.25 * (r[0][2] + r[2][0]) / b
			a = 0.25 * (r[2][1] - r[1][2]) / b
		case yd > 1:
			c = 0.5 * math.Sqrt(yd)
			b = 0.25 * (r[0][1] + r[1][0]) / c
			d = 0.25 * (r[1][2] + r[2][1]) / c
			a = 0.25 * (r[0][2] - r[2][0]) / c
		default:
			d = 0.5 * math.Sqrt(zd)
			b = 0.25 * (r[0][2] + r[2][0]) / d
			c = 0.25 * (r[1][2] + r[2][1]) / d
			a = 0.25 * (r[1][0] - r[0][1]) / d
		}
		if a < 0 {
			b, c, d = -b, -c, -d
		}
	}
	return b, c, d
}
