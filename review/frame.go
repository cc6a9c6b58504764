package review

import (
	"fmt"
	"math"

	"github.com/otoseg/otoseg/volume"
)

// View is a slicing plane, in the patient's frame.
type View int

// The three orthogonal views. Slices are shown in radiological convention:
// axial and coronal with the patient's right on the screen's left, axial
// with anterior at the top, coronal and sagittal with superior at the top,
// sagittal with anterior on the left.
const (
	Axial View = iota
	Coronal
	Sagittal
)

// ParseView maps "axial", "coronal", "sagittal".
func ParseView(s string) (View, error) {
	switch s {
	case "axial":
		return Axial, nil
	case "coronal":
		return Coronal, nil
	case "sagittal":
		return Sagittal, nil
	}
	return 0, fmt.Errorf("view %q, want axial, coronal or sagittal", s)
}

// Frame maps the voxel grid onto the canonical LPS-aligned grid the viewer
// shows: canonical axis d (0 = towards patient Left, 1 = Posterior,
// 2 = Superior) runs along voxel axis Perm[d], reversed when Flip[d]. Oblique
// scans are shown on the nearest axes without resampling, as a PACS would
// in its "acquisition plane" mode.
type Frame struct {
	Dims    [3]int     // canonical dimensions
	Spacing [3]float64 // canonical spacings, mm
	Perm    [3]int
	Flip    [3]bool
	base    int
	step    [3]int
}

// NewFrame builds the canonical frame of a geometry.
func NewFrame(g volume.Geometry) Frame {
	var f Frame
	usedC := [3]bool{}
	usedR := [3]bool{}
	// Greedy largest-cosine assignment of voxel axes (columns) to LPS axes
	// (rows), as volume.AxCodes does.
	for n := 0; n < 3; n++ {
		best, br, bc := -1.0, 0, 0
		for r := 0; r < 3; r++ {
			if usedR[r] {
				continue
			}
			for c := 0; c < 3; c++ {
				if usedC[c] {
					continue
				}
				if a := math.Abs(g.Direction[r][c]); a > best {
					best, br, bc = a, r, c
				}
			}
		}
		usedR[br], usedC[bc] = true, true
		f.Perm[br] = bc
		f.Flip[br] = g.Direction[br][bc] < 0
	}
	stride := [3]int{1, g.Dims[0], g.Dims[0] * g.Dims[1]}
	for d := 0; d < 3; d++ {
		a := f.Perm[d]
		f.Dims[d] = g.Dims[a]
		f.Spacing[d] = g.Spacing[a]
		if f.Flip[d] {
			f.base += (g.Dims[a] - 1) * stride[a]
			f.step[d] = -stride[a]
		} else {
			f.step[d] = stride[a]
		}
	}
	return f
}

// Offset is the flat voxel index of canonical position c.
func (f Frame) Offset(c [3]int) int {
	return f.base + c[0]*f.step[0] + c[1]*f.step[1] + c[2]*f.step[2]
}

// Voxel returns the voxel index (i, j, k) of canonical position c.
func (f Frame) Voxel(c [3]int) [3]int {
	var v [3]int
	for d := 0; d < 3; d++ {
		a := f.Perm[d]
		if f.Flip[d] {
			v[a] = f.Dims[d] - 1 - c[d]
		} else {
			v[a] = c[d]
		}
	}
	return v
}

// Canonical returns the canonical position of voxel index v.
func (f Frame) Canonical(v [3]int) [3]int {
	var c [3]int
	for d := 0; d < 3; d++ {
		a := f.Perm[d]
		if f.Flip[d] {
			c[d] = f.Dims[d] - 1 - v[a]
		} else {
			c[d] = v[a]
		}
	}
	return c
}

// sliceAxes returns, for a view, the canonical axis fixed by the slice, the
// axis along screen columns and the axis along screen rows, and whether rows
// run against the canonical axis (superior at the top).
func sliceAxes(v View) (fixed, col, row int, rowReversed bool) {
	switch v {
	case Axial:
		return 2, 0, 1, false
	case Coronal:
		return 1, 0, 2, true
	default: // Sagittal
		return 0, 1, 2, true
	}
}

// SliceSize returns the width and height in pixels of a view's slices, the
// physical size of a pixel (column and row spacing, mm) and the number of
// slices.
func (f Frame) SliceSize(v View) (w, h int, colMM, rowMM float64, n int) {
	fixed, col, row, _ := sliceAxes(v)
	return f.Dims[col], f.Dims[row], f.Spacing[col], f.Spacing[row], f.Dims[fixed]
}

// forSlice calls fn(pixel, voxel offset) for each pixel of slice index of
// view v, pixels in row-major screen order.
func (f Frame) forSlice(v View, index int, fn func(p, off int)) error {
	fixed, col, row, rev := sliceAxes(v)
	if index < 0 || index >= f.Dims[fixed] {
		return fmt.Errorf("slice %d out of range [0, %d)", index, f.Dims[fixed])
	}
	w, h := f.Dims[col], f.Dims[row]
	p := 0
	for y := 0; y < h; y++ {
		r := y
		if rev {
			r = h - 1 - y
		}
		off := f.base + index*f.step[fixed] + r*f.step[row]
		for x := 0; x < w; x++ {
			fn(p, off)
			off += f.step[col]
			p++
		}
	}
	return nil
}
