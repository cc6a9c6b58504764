// Package volume holds a 3-D medical image as voxels plus the geometry that
// places them in the patient: dimensions, spacing, origin and direction
// cosines. Like nibabel's SpatialImage, the geometry is the source of truth
// for where a voxel is; every reader fills it and every writer honours it.
//
// World coordinates are kept in LPS (DICOM, ITK, NRRD, MetaImage), in mm.
// NIfTI's RAS affine is derived on demand with AffineRAS.
//
// Voxels are stored as float32 in a flat slice, x (i) fastest, then y (j),
// then z (k): index = i + nx*(j + ny*k), which is the on-disk order of NIfTI,
// NRRD, MetaImage and DICOM frames, so readers fill it without transposing.
// DType remembers the datatype the voxels came from so writers can keep it.
package volume

import (
	"errors"
	"fmt"
	"math"

	"github.com/otoseg/otoseg/internal/prefault"
)

// DType names a voxel datatype as stored in a file.
type DType uint8

// Voxel datatypes a file may carry. Voxels live in memory as float32 whatever
// the DType; the DType says how a writer should store them.
const (
	Float32 DType = iota
	Uint8
	Int16
	Uint16
	Int32
	Float64
)

var dtypeNames = [...]string{"float32", "uint8", "int16", "uint16", "int32", "float64"}

func (d DType) String() string {
	if int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	return fmt.Sprintf("DType(%d)", d)
}

// ErrShape reports voxel data whose length does not match the dimensions.
var ErrShape = errors.New("volume: data length does not match dimensions")

// MaxVoxels caps the number of voxels any reader may allocate from a header.
// 2^31 float32 voxels is 8 GiB, far beyond a CT (512x512x2000 is 2^29).
const MaxVoxels = 1 << 31

// Geometry places voxel indices in the patient's LPS world space:
//
//	world = Origin + Direction * diag(Spacing) * [i j k]
//
// Direction holds unit column vectors: Direction[r][c] is the r-th LPS
// component of the c-th voxel axis.
type Geometry struct {
	Dims      [3]int
	Spacing   [3]float64
	Origin    [3]float64
	Direction [3][3]float64
}

// Identity returns the identity direction matrix.
func Identity() [3][3]float64 {
	return [3][3]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}
}

// NewGeometry returns an axis-aligned LPS geometry with the given dimensions
// and spacing and its origin at zero.
func NewGeometry(dims [3]int, spacing [3]float64) Geometry {
	return Geometry{Dims: dims, Spacing: spacing, Direction: Identity()}
}

// Len is the number of voxels.
func (g Geometry) Len() int { return g.Dims[0] * g.Dims[1] * g.Dims[2] }

// Index is the flat offset of voxel (i, j, k).
func (g Geometry) Index(i, j, k int) int { return i + g.Dims[0]*(j+g.Dims[1]*k) }

// Validate reports dimensions, spacings or directions no image can have.
func (g Geometry) Validate() error {
	n := 1
	for a := 0; a < 3; a++ {
		if g.Dims[a] <= 0 {
			return fmt.Errorf("dimension %d is %d, want > 0", a, g.Dims[a])
		}
		if n > MaxVoxels/g.Dims[a] {
			return fmt.Errorf("dimensions %v exceed %d voxels", g.Dims, MaxVoxels)
		}
		n *= g.Dims[a]
		s := g.Spacing[a]
		if !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("spacing %d is %g, want a positive finite value", a, s)
		}
		if math.IsNaN(g.Origin[a]) || math.IsInf(g.Origin[a], 0) {
			return fmt.Errorf("origin %d is %g", a, g.Origin[a])
		}
	}
	for c := 0; c < 3; c++ {
		var norm float64
		for r := 0; r < 3; r++ {
			norm += g.Direction[r][c] * g.Direction[r][c]
		}
		if math.Abs(norm-1) > 1e-3 {
			return fmt.Errorf("direction column %d has length %g, want 1", c, math.Sqrt(norm))
		}
	}
	if math.Abs(Det3(g.Direction)) < 1e-3 {
		return fmt.Errorf("direction matrix is singular")
	}
	return nil
}

// AffineLPS is the 4x4 voxel-to-world matrix in LPS millimetres.
func (g Geometry) AffineLPS() [4][4]float64 {
	var a [4][4]float64
	for r := 0; r < 3; r++ {
		for c := 0; c < 3; c++ {
			a[r][c] = g.Direction[r][c] * g.Spacing[c]
		}
		a[r][3] = g.Origin[r]
	}
	a[3][3] = 1
	return a
}

// AffineRAS is the 4x4 voxel-to-world matrix in RAS millimetres, the NIfTI
// convention: the LPS affine with its first two rows negated.
func (g Geometry) AffineRAS() [4][4]float64 {
	a := g.AffineLPS()
	for c := 0; c < 4; c++ {
		a[0][c] = -a[0][c]
		a[1][c] = -a[1][c]
	}
	return a
}

// GeometryFromAffineLPS splits a voxel-to-LPS affine into spacing, direction
// and origin. Shear is not representable and is reported as an error.
func GeometryFromAffineLPS(dims [3]int, a [4][4]float64) (Geometry, error) {
	g := Geometry{Dims: dims}
	for c := 0; c < 3; c++ {
		var n float64
		for r := 0; r < 3; r++ {
			n += a[r][c] * a[r][c]
		}
		n = math.Sqrt(n)
		if !(n > 0) || math.IsInf(n, 0) {
			return g, fmt.Errorf("affine column %d has zero or invalid length", c)
		}
		g.Spacing[c] = n
		for r := 0; r < 3; r++ {
			g.Direction[r][c] = a[r][c] / n
		}
		g.Origin[c] = a[c][3]
	}
	for c1 := 0; c1 < 3; c1++ {
		for c2 := c1 + 1; c2 < 3; c2++ {
			var dot float64
			for r := 0; r < 3; r++ {
				dot += g.Direction[r][c1] * g.Direction[r][c2]
			}
			if math.Abs(dot) > 1e-4 {
				return g, fmt.Errorf("affine axes %d and %d are not orthogonal (cos %.3g): sheared images are not supported", c1, c2, dot)
			}
		}
	}
	return g, nil
}

// GeometryFromAffineRAS is GeometryFromAffineLPS for a RAS affine (NIfTI).
func GeometryFromAffineRAS(dims [3]int, a [4][4]float64) (Geometry, error) {
	for c := 0; c < 4; c++ {
		a[0][c] = -a[0][c]
		a[1][c] = -a[1][c]
	}
	return GeometryFromAffineLPS(dims, a)
}

// World returns the LPS position in mm of continuous voxel index (i, j, k).
func (g Geometry) World(i, j, k float64) [3]float64 {
	var w [3]float64
	idx := [3]float64{i, j, k}
	for r := 0; r < 3; r++ {
		w[r] = g.Origin[r]
		for c := 0; c < 3; c++ {
			w[r] += g.Direction[r][c] * g.Spacing[c] * idx[c]
		}
	}
	return w
}

// ContinuousIndex returns the continuous voxel index of LPS position w. Direction is
// orthonormal, so its inverse is its transpose.
func (g Geometry) ContinuousIndex(w [3]float64) [3]float64 {
	var d [3]float64
	for r := 0; r < 3; r++ {
		d[r] = w[r] - g.Origin[r]
	}
	var idx [3]float64
	for c := 0; c < 3; c++ {
		var s float64
		for r := 0; r < 3; r++ {
			s += g.Direction[r][c] * d[r]
		}
		idx[c] = s / g.Spacing[c]
	}
	return idx
}

// SameGrid reports whether two geometries describe the same voxel grid, with
// positions agreeing to tol mm at the far corner.
func (g Geometry) SameGrid(h Geometry, tol float64) bool {
	if g.Dims != h.Dims {
		return false
	}
	for _, c := range [][3]float64{{0, 0, 0}, {float64(g.Dims[0] - 1), float64(g.Dims[1] - 1), float64(g.Dims[2] - 1)}, {float64(g.Dims[0] - 1), 0, 0}, {0, float64(g.Dims[1] - 1), 0}, {0, 0, float64(g.Dims[2] - 1)}} {
		a, b := g.World(c[0], c[1], c[2]), h.World(c[0], c[1], c[2])
		for r := 0; r < 3; r++ {
			if math.Abs(a[r]-b[r]) > tol {
				return false
			}
		}
	}
	return true
}

// Volume is a 3-D image: voxels plus geometry.
type Volume struct {
	Geometry
	// Data holds Len() voxels, x fastest.
	Data []float32
	// DType is the datatype the voxels came from or should be written as.
	DType DType
}

// New returns a zero-filled volume on geometry g.
func New(g Geometry, dt DType) *Volume {
	return &Volume{Geometry: g, Data: prefault.Make(g.Len()), DType: dt}
}

// Check reports a volume whose data does not fit its geometry.
func (v *Volume) Check() error {
	if err := v.Geometry.Validate(); err != nil {
		return err
	}
	if len(v.Data) != v.Len() {
		return fmt.Errorf("%w: %d voxels for dims %v", ErrShape, len(v.Data), v.Dims)
	}
	return nil
}

// At returns voxel (i, j, k).
func (v *Volume) At(i, j, k int) float32 { return v.Data[v.Index(i, j, k)] }

// Set sets voxel (i, j, k).
func (v *Volume) Set(i, j, k int, x float32) { v.Data[v.Index(i, j, k)] = x }

// Stats are summary statistics of the voxel values.
type Stats struct {
	Min, Max, Mean float64
}

// Stats computes min, max and mean in float64.
func (v *Volume) Stats() Stats {
	if len(v.Data) == 0 {
		return Stats{}
	}
	s := Stats{Min: math.Inf(1), Max: math.Inf(-1)}
	var sum float64
	for _, x := range v.Data {
		f := float64(x)
		sum += f
		if f < s.Min {
			s.Min = f
		}
		if f > s.Max {
			s.Max = f
		}
	}
	s.Mean = sum / float64(len(v.Data))
	return s
}

// Det3 is the determinant of a 3x3 matrix: the sign of a direction
// matrix's handedness, and the volume scale of a linear map.
func Det3(m [3][3]float64) float64 {
	return m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) -
		m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) +
		m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
}
