package morph

import (
	"fmt"
	"math"

	"github.com/otoseg/otoseg/volume"
)

// Components is a labelling of connected components.
type Components struct {
	Dims [3]int
	// Labels holds 0 for background and 1..N for the components, numbered
	// in the order their first voxel appears in index order (the numbering
	// scipy.ndimage.label uses on a [k, j, i] array).
	Labels []int32
	// Sizes[l] is the voxel count of component l; Sizes[0] counts background.
	Sizes []int
	// N is the number of components.
	N int
}

// Largest returns the label of the largest component (the first one on a
// tie), or 0 when there is none.
func (c *Components) Largest() int {
	best := 0
	for l := 1; l <= c.N; l++ {
		if best == 0 || c.Sizes[l] > c.Sizes[best] {
			best = l
		}
	}
	return best
}

// Label finds the connected components of the foreground of m. It is a
// two-pass union-find over the neighbours that precede each voxel in index
// order, so the only memory beyond the result is one parent entry per
// provisional label.
func Label(m *Mask, conn Connectivity) (*Components, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if err := conn.check(); err != nil {
		return nil, err
	}
	return labelCore(m.Data, false, m.Dims, conn)
}

// labelCore labels the connected regions of equal, non-bg values of data.
func labelCore[T comparable](data []T, bg T, dims [3]int, conn Connectivity) (*Components, error) {
	nx, ny, nz := dims[0], dims[1], dims[2]
	type nb struct {
		delta      int
		dx, dy, dz int
	}
	var nbs []nb
	for _, o := range conn.offsets(true) {
		nbs = append(nbs, nb{delta: o[0] + nx*(o[1]+ny*o[2]), dx: o[0], dy: o[1], dz: o[2]})
	}
	labels := make([]int32, len(data))
	parent := []int32{0}
	find := func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	p := 0
	for k := 0; k < nz; k++ {
		for j := 0; j < ny; j++ {
			for i := 0; i < nx; i++ {
				val := data[p]
				if val == bg {
					p++
					continue
				}
				var lab int32
				for _, n := range nbs {
					if (n.dx < 0 && i == 0) || (n.dx > 0 && i == nx-1) ||
						(n.dy < 0 && j == 0) || (n.dy > 0 && j == ny-1) || (n.dz < 0 && k == 0) {
						continue
					}
					q := p + n.delta
					if data[q] != val {
						continue
					}
					ql := labels[q]
					if lab == 0 {
						lab = find(ql)
						continue
					}
					if r := find(ql); r != lab {
						if r < lab {
							parent[lab] = r
							lab = r
						} else {
							parent[r] = lab
						}
					}
				}
				if lab == 0 {
					if len(parent) > math.MaxInt32-1 {
						return nil, fmt.Errorf("morph: too many components")
					}
					lab = int32(len(parent))
					parent = append(parent, lab)
				}
				labels[p] = lab
				p++
			}
		}
	}
	// Roots are the smallest provisional label of each component, which is
	// the label of its first voxel, so numbering roots in label order
	// numbers components by first appearance.
	final := make([]int32, len(parent))
	n := int32(0)
	for l := 1; l < len(parent); l++ {
		r := find(int32(l))
		if r == int32(l) {
			n++
			final[l] = n
		} else {
			final[l] = final[r]
		}
	}
	sizes := make([]int, n+1)
	for i, l := range labels {
		f := final[l]
		labels[i] = f
		sizes[f]++
	}
	return &Components{Dims: dims, Labels: labels, Sizes: sizes, N: int(n)}, nil
}

// LargestComponent returns the largest connected component of m as a new
// mask (empty when m is).
func LargestComponent(m *Mask, conn Connectivity) (*Mask, error) {
	c, err := Label(m, conn)
	if err != nil {
		return nil, err
	}
	out := NewMask(m.Dims)
	if best := int32(c.Largest()); best > 0 {
		for i, l := range c.Labels {
			out.Data[i] = l == best
		}
	}
	return out, nil
}

// RemoveSmall returns m without the components smaller than minSize voxels.
func RemoveSmall(m *Mask, conn Connectivity, minSize int) (*Mask, error) {
	c, err := Label(m, conn)
	if err != nil {
		return nil, err
	}
	out := NewMask(m.Dims)
	for i, l := range c.Labels {
		out.Data[i] = l > 0 && c.Sizes[l] >= minSize
	}
	return out, nil
}

// KeepLargestPerLabel returns a copy of the label map v in which each
// non-zero label keeps only its largest connected component; the voxels of
// its other components become 0. This is the usual clean-up of a network's
// segmentation (one cochlea, one vestibule, ...). All labels are labelled in
// one pass: neighbours join only when they carry the same label. Labels must
// be integers in [0, volume.MaxLabel].
func KeepLargestPerLabel(v *volume.Volume, conn Connectivity) (*volume.Volume, error) {
	if err := conn.check(); err != nil {
		return nil, err
	}
	if err := v.Check(); err != nil {
		return nil, fmt.Errorf("morph: keep largest per label: %w", err)
	}
	cls := make([]uint16, len(v.Data))
	for i, x := range v.Data {
		if !(x >= 0 && x <= volume.MaxLabel) || x != float32(math.Trunc(float64(x))) {
			return nil, fmt.Errorf("morph: keep largest per label: voxel value %g is not an integer label in [0, %d]", x, volume.MaxLabel)
		}
		cls[i] = uint16(x)
	}
	c, err := labelCore(cls, 0, v.Dims, conn)
	if err != nil {
		return nil, err
	}
	// The label value of each component, then per value the component with
	// the most voxels (the first on a tie).
	compVal := make([]uint16, c.N+1)
	for i, l := range c.Labels {
		compVal[l] = cls[i]
	}
	bestComp := map[uint16]int32{}
	for l := int32(1); l <= int32(c.N); l++ {
		b, ok := bestComp[compVal[l]]
		if !ok || c.Sizes[l] > c.Sizes[b] {
			bestComp[compVal[l]] = l
		}
	}
	keep := make([]bool, c.N+1)
	for _, l := range bestComp {
		keep[l] = true
	}
	out := v.Clone()
	for i, l := range c.Labels {
		if l != 0 && !keep[l] {
			out.Data[i] = 0
		}
	}
	return out, nil
}
