// Package morph is binary and label morphology on voxel grids: connected
// components, largest-component and per-label cleaning, hole filling,
// dilation and erosion with a ball in millimetres, the exact Euclidean
// distance transform with anisotropic spacing, and the Euler characteristic.
//
// Everything works on a Mask: a dense []bool on the volume package's index
// order (i + nx*(j + ny*k)). The geometry stays with the volume; functions
// that measure in mm take the spacing. Results are checked against
// scipy.ndimage and skimage in the tests.
package morph

import (
	"fmt"

	"github.com/otoseg/otoseg/volume"
)

// Mask is a binary image: Data[i] is true for foreground voxels, stored in
// the volume package's index order, x fastest.
type Mask struct {
	Dims [3]int
	Data []bool
}

// NewMask returns an all-background mask.
func NewMask(dims [3]int) *Mask {
	return &Mask{Dims: dims, Data: make([]bool, dims[0]*dims[1]*dims[2])}
}

// MaskOf returns the mask of the voxels of v for which keep is true, e.g.
// MaskOf(v, func(x float32) bool { return x == 2 }) for label 2.
func MaskOf(v *volume.Volume, keep func(float32) bool) *Mask {
	m := NewMask(v.Dims)
	for i, x := range v.Data {
		m.Data[i] = keep(x)
	}
	return m
}

// Nonzero is the mask of the voxels of v that are not 0.
func Nonzero(v *volume.Volume) *Mask {
	return MaskOf(v, func(x float32) bool { return x != 0 })
}

// Count is the number of foreground voxels.
func (m *Mask) Count() int {
	n := 0
	for _, b := range m.Data {
		if b {
			n++
		}
	}
	return n
}

// Clone returns a copy of m.
func (m *Mask) Clone() *Mask {
	out := &Mask{Dims: m.Dims, Data: make([]bool, len(m.Data))}
	copy(out.Data, m.Data)
	return out
}

func (m *Mask) check() error {
	n := 1
	for a := 0; a < 3; a++ {
		if m.Dims[a] <= 0 {
			return fmt.Errorf("morph: mask dimension %d is %d", a, m.Dims[a])
		}
		if n > volume.MaxVoxels/m.Dims[a] {
			return fmt.Errorf("morph: mask dims %v too large", m.Dims)
		}
		n *= m.Dims[a]
	}
	if len(m.Data) != n {
		return fmt.Errorf("morph: mask has %d voxels for dims %v", len(m.Data), m.Dims)
	}
	return nil
}

// Connectivity says which voxels touch: 6 share a face, 18 a face or an
// edge, 26 a face, an edge or a corner.
type Connectivity int

// The three 3-D connectivities.
const (
	Conn6  Connectivity = 6
	Conn18 Connectivity = 18
	Conn26 Connectivity = 26
)

func (c Connectivity) check() error {
	switch c {
	case Conn6, Conn18, Conn26:
		return nil
	}
	return fmt.Errorf("morph: connectivity %d, want 6, 18 or 26", int(c))
}

// offsets returns the neighbour offsets of c, all of them (back=false) or
// only those that come earlier in raster order (back=true).
func (c Connectivity) offsets(back bool) [][3]int {
	var out [][3]int
	for dz := -1; dz <= 1; dz++ {
		for dy := -1; dy <= 1; dy++ {
			for dx := -1; dx <= 1; dx++ {
				n := abs(dx) + abs(dy) + abs(dz)
				if n == 0 || (c == Conn6 && n > 1) || (c == Conn18 && n > 2) {
					continue
				}
				if back && (dz > 0 || (dz == 0 && (dy > 0 || (dy == 0 && dx > 0)))) {
					continue
				}
				out = append(out, [3]int{dx, dy, dz})
			}
		}
	}
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
