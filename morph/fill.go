package morph

import "fmt"

// FillHoles returns m with its holes filled: background regions that do not
// reach the border of the grid become foreground. bg is the connectivity of
// the background; Conn6 matches scipy.ndimage.binary_fill_holes' default and
// is the right partner of a 26-connected foreground. The background's
// components are labelled (the same union-find as Label), and those with a
// voxel on the border stay background.
func FillHoles(m *Mask, bg Connectivity) (*Mask, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if err := bg.check(); err != nil {
		return nil, err
	}
	// Label the voxels whose value is not true: the background.
	c, err := labelCore(m.Data, true, m.Dims, bg)
	if err != nil {
		return nil, err
	}
	nx, ny, nz := m.Dims[0], m.Dims[1], m.Dims[2]
	open := make([]bool, c.N+1)
	for k := 0; k < nz; k++ {
		for j := 0; j < ny; j++ {
			row := c.Labels[nx*(j+ny*k) : nx*(j+ny*k)+nx]
			if k == 0 || k == nz-1 || j == 0 || j == ny-1 {
				for _, l := range row {
					open[l] = true
				}
			} else {
				open[row[0]], open[row[nx-1]] = true, true
			}
		}
	}
	open[0] = false // label 0 is the foreground
	out := NewMask(m.Dims)
	for i, l := range c.Labels {
		out.Data[i] = m.Data[i] || !open[l]
	}
	return out, nil
}

// FillHolesSlices fills holes in each 2-D slice perpendicular to axis (0, 1
// or 2) separately, with 4-connected background, like applying
// scipy.ndimage.binary_fill_holes slice by slice. It closes cavities that
// open to the border in 3-D but are enclosed in every slice (a tube's lumen
// seen across its axis).
func FillHolesSlices(m *Mask, axis int) (*Mask, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if axis < 0 || axis > 2 {
		return nil, fmt.Errorf("morph: fill holes: axis %d, want 0, 1 or 2", axis)
	}
	strides := [3]int{1, m.Dims[0], m.Dims[0] * m.Dims[1]}
	// u and v are the in-slice axes.
	u, v := (axis+1)%3, (axis+2)%3
	nu, nv := m.Dims[u], m.Dims[v]
	su, sv := strides[u], strides[v]
	out := m.Clone()
	outside := make([]bool, nu*nv)
	var queue []int32
	for s := 0; s < m.Dims[axis]; s++ {
		base := s * strides[axis]
		for i := range outside {
			outside[i] = false
		}
		push := func(a, b int) {
			q := a + nu*b
			if !outside[q] && !m.Data[base+a*su+b*sv] {
				outside[q] = true
				queue = append(queue, int32(q))
			}
		}
		for a := 0; a < nu; a++ {
			push(a, 0)
			push(a, nv-1)
		}
		for b := 0; b < nv; b++ {
			push(0, b)
			push(nu-1, b)
		}
		for len(queue) > 0 {
			q := int(queue[len(queue)-1])
			queue = queue[:len(queue)-1]
			a, b := q%nu, q/nu
			if a > 0 {
				push(a-1, b)
			}
			if a < nu-1 {
				push(a+1, b)
			}
			if b > 0 {
				push(a, b-1)
			}
			if b < nv-1 {
				push(a, b+1)
			}
		}
		for b := 0; b < nv; b++ {
			for a := 0; a < nu; a++ {
				if !outside[a+nu*b] {
					out.Data[base+a*su+b*sv] = true
				}
			}
		}
	}
	return out, nil
}
