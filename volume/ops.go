package volume

import (
	"fmt"
	"math"
)

// Geometry-preserving operations: every function here returns a new volume
// whose voxels sit at the same LPS world positions they had in the input, so
// a crop, pad, flip or reorientation never moves anatomy, only the grid.

// Crop returns the voxels in the half-open index box [lo, hi) as a new
// volume. Its origin is the world position of voxel lo, so each kept voxel
// keeps its world position. The box must lie inside the volume and be
// non-empty; use Pad first to grow past the edge.
func Crop(v *Volume, lo, hi [3]int) (*Volume, error) {
	for a := 0; a < 3; a++ {
		if lo[a] < 0 || hi[a] > v.Dims[a] || lo[a] >= hi[a] {
			return nil, fmt.Errorf("volume: crop box %v..%v does not fit dims %v on axis %d", lo, hi, v.Dims, a)
		}
	}
	if len(v.Data) != v.Len() {
		return nil, fmt.Errorf("%w: %d voxels for dims %v", ErrShape, len(v.Data), v.Dims)
	}
	g := v.Geometry
	g.Dims = [3]int{hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]}
	g.Origin = v.World(float64(lo[0]), float64(lo[1]), float64(lo[2]))
	out := New(g, v.DType)
	nx := g.Dims[0]
	for k := 0; k < g.Dims[2]; k++ {
		for j := 0; j < g.Dims[1]; j++ {
			src := v.Index(lo[0], lo[1]+j, lo[2]+k)
			copy(out.Data[g.Index(0, j, k):g.Index(0, j, k)+nx], v.Data[src:src+nx])
		}
	}
	return out, nil
}

// Pad returns v grown by before[a] voxels at the low end and after[a] at the
// high end of each axis, filled with value. The origin moves to the world
// position of index -before, so the original voxels stay where they were.
func Pad(v *Volume, before, after [3]int, value float32) (*Volume, error) {
	g := v.Geometry
	for a := 0; a < 3; a++ {
		if before[a] < 0 || after[a] < 0 {
			return nil, fmt.Errorf("volume: negative padding %v/%v (use Crop to shrink)", before, after)
		}
		g.Dims[a] = v.Dims[a] + before[a] + after[a]
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("volume: pad: %w", err)
	}
	if len(v.Data) != v.Len() {
		return nil, fmt.Errorf("%w: %d voxels for dims %v", ErrShape, len(v.Data), v.Dims)
	}
	g.Origin = v.World(float64(-before[0]), float64(-before[1]), float64(-before[2]))
	out := New(g, v.DType)
	if value != 0 {
		for i := range out.Data {
			out.Data[i] = value
		}
	}
	nx := v.Dims[0]
	for k := 0; k < v.Dims[2]; k++ {
		for j := 0; j < v.Dims[1]; j++ {
			dst := g.Index(before[0], before[1]+j, before[2]+k)
			copy(out.Data[dst:dst+nx], v.Data[v.Index(0, j, k):v.Index(0, j, k)+nx])
		}
	}
	return out, nil
}

// Flip returns v with its voxel order reversed along axis (0, 1 or 2). The
// direction column of that axis is negated and the origin moves to the old
// last voxel along it, so every voxel keeps its world position: only the
// index order changes (like reversing a NIfTI axis and fixing the affine).
func Flip(v *Volume, axis int) (*Volume, error) {
	var flips [3]bool
	if axis < 0 || axis > 2 {
		return nil, fmt.Errorf("volume: flip axis %d, want 0, 1 or 2", axis)
	}
	flips[axis] = true
	return transpose(v, [3]int{0, 1, 2}, flips)
}

// Orientation describes how to turn a volume's voxel axes into another
// orientation: output axis a is input axis Perm[a], reversed when Flip[a].
type Orientation struct {
	Perm [3]int
	Flip [3]bool
}

// OrientationTo returns the axis permutation and flips that bring g to the
// orientation named by code (three letters, one from each of R/L, A/P, S/I,
// as in nibabel's axcodes: "RAS" means i increases towards the Right). The
// current orientation of each axis is the one AxCodes reports.
func (g Geometry) OrientationTo(code string) (Orientation, error) {
	var o Orientation
	target, err := parseAxCodes(code)
	if err != nil {
		return o, err
	}
	cur, err := parseAxCodes(g.AxCodes())
	if err != nil {
		return o, fmt.Errorf("volume: current orientation: %w", err)
	}
	for a := 0; a < 3; a++ {
		for c := 0; c < 3; c++ {
			if cur[c].world == target[a].world {
				o.Perm[a] = c
				o.Flip[a] = cur[c].sign != target[a].sign
			}
		}
	}
	return o, nil
}

// Reorient returns v with its voxel axes permuted and flipped so that they
// point in the anatomical directions named by code ("RAS", "LPS", "LAS", ...),
// as nibabel's as_closest_canonical does for "RAS". Each voxel keeps its world
// position: the geometry is permuted and flipped with the data. Oblique
// volumes stay oblique; each axis takes the world axis it is closest to.
func Reorient(v *Volume, code string) (*Volume, error) {
	o, err := v.OrientationTo(code)
	if err != nil {
		return nil, err
	}
	return transpose(v, o.Perm, o.Flip)
}

type axCode struct {
	world int     // 0 x (R/L), 1 y (A/P), 2 z (S/I)
	sign  float64 // +1 for R, A, S
}

func parseAxCodes(code string) ([3]axCode, error) {
	var out [3]axCode
	if len(code) != 3 {
		return out, fmt.Errorf("volume: orientation %q: want three letters such as RAS or LPS", code)
	}
	var seen [3]bool
	for a := 0; a < 3; a++ {
		var c axCode
		switch code[a] {
		case 'R', 'r':
			c = axCode{0, 1}
		case 'L', 'l':
			c = axCode{0, -1}
		case 'A', 'a':
			c = axCode{1, 1}
		case 'P', 'p':
			c = axCode{1, -1}
		case 'S', 's':
			c = axCode{2, 1}
		case 'I', 'i':
			c = axCode{2, -1}
		default:
			return out, fmt.Errorf("volume: orientation %q: letter %q is not one of R L A P S I", code, code[a])
		}
		if seen[c.world] {
			return out, fmt.Errorf("volume: orientation %q names the same world axis twice", code)
		}
		seen[c.world] = true
		out[a] = c
	}
	return out, nil
}

// transpose builds the volume whose axis a is input axis perm[a], reversed
// where flip[a], with geometry that keeps world positions.
func transpose(v *Volume, perm [3]int, flip [3]bool) (*Volume, error) {
	if len(v.Data) != v.Len() {
		return nil, fmt.Errorf("%w: %d voxels for dims %v", ErrShape, len(v.Data), v.Dims)
	}
	lay, err := v.Geometry.transposed(perm, flip)
	if err != nil {
		return nil, err
	}
	g, stride := lay.Geometry, lay.Stride
	out := New(g, v.DType)
	nx, ny, nz := g.Dims[0], g.Dims[1], g.Dims[2]
	o := 0
	for k := 0; k < nz; k++ {
		for j := 0; j < ny; j++ {
			src := lay.Base + j*stride[1] + k*stride[2]
			row := out.Data[o : o+nx]
			if stride[0] == 1 {
				copy(row, v.Data[src:src+nx])
			} else {
				for i := range row {
					row[i] = v.Data[src]
					src += stride[0]
				}
			}
			o += nx
		}
	}
	return out, nil
}

// Layout places the voxels of a volume in another orientation on the
// volume's own data, without copying them: voxel (i, j, k) of Geometry is
// Data[Base + i*Stride[0] + j*Stride[1] + k*Stride[2]] of the volume it
// was taken from. A whole head is 200 MB of float32; a pass that reads it
// once in another orientation (the localiser's box filter) need not copy
// it first.
type Layout struct {
	Geometry Geometry
	Base     int
	Stride   [3]int
}

// ReorientedLayout is Reorient(v, code) as a Layout on v's data.
func (v *Volume) ReorientedLayout(code string) (Layout, error) {
	o, err := v.OrientationTo(code)
	if err != nil {
		return Layout{}, err
	}
	return v.Geometry.transposed(o.Perm, o.Flip)
}

// transposed is the layout of g with its axes permuted (output axis a is
// input axis perm[a]) and flipped.
func (g Geometry) transposed(perm [3]int, flip [3]bool) (Layout, error) {
	var seen [3]bool
	for _, p := range perm {
		if p < 0 || p > 2 || seen[p] {
			return Layout{}, fmt.Errorf("volume: %v is not a permutation of the axes", perm)
		}
		seen[p] = true
	}
	var lay Layout
	out := &lay.Geometry
	var start [3]float64 // input index of output voxel (0,0,0)
	inStride := [3]int{1, g.Dims[0], g.Dims[0] * g.Dims[1]}
	for a := 0; a < 3; a++ {
		c := perm[a]
		out.Dims[a] = g.Dims[c]
		out.Spacing[a] = g.Spacing[c]
		s := 1.0
		lay.Stride[a] = inStride[c]
		if flip[a] {
			s = -1
			start[c] = float64(g.Dims[c] - 1)
			lay.Stride[a] = -inStride[c]
		}
		for r := 0; r < 3; r++ {
			out.Direction[r][a] = s * g.Direction[r][c]
		}
	}
	out.Origin = g.World(start[0], start[1], start[2])
	lay.Base = g.Index(int(start[0]), int(start[1]), int(start[2]))
	return lay, nil
}

// Clone returns a deep copy of v.
func (v *Volume) Clone() *Volume {
	out := &Volume{Geometry: v.Geometry, DType: v.DType, Data: make([]float32, len(v.Data))}
	copy(out.Data, v.Data)
	return out
}

// BoundingBox returns the half-open index box [lo, hi) of the voxels for
// which keep returns true, and false when there is none. Used to crop to a
// label or a region of interest.
func (v *Volume) BoundingBox(keep func(float32) bool) (lo, hi [3]int, ok bool) {
	lo = [3]int{math.MaxInt, math.MaxInt, math.MaxInt}
	nx, ny := v.Dims[0], v.Dims[1]
	for k := 0; k < v.Dims[2]; k++ {
		for j := 0; j < ny; j++ {
			row := v.Data[nx*(j+ny*k) : nx*(j+ny*k)+nx]
			for i, x := range row {
				if !keep(x) {
					continue
				}
				ok = true
				idx := [3]int{i, j, k}
				for a := 0; a < 3; a++ {
					lo[a] = min(lo[a], idx[a])
					hi[a] = max(hi[a], idx[a]+1)
				}
			}
		}
	}
	if !ok {
		return [3]int{}, [3]int{}, false
	}
	return lo, hi, true
}
