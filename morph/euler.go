package morph

import "errors"

var errUnsupported18 = errors.New("morph: Euler number: use connectivity 6 or 26 (18 has no matching background connectivity)")

// EulerNumber returns the Euler characteristic of the foreground of m
// (components - tunnels + cavities) under connectivity conn, which must be
// Conn26 or Conn6 (background 6- or 26-connected, respectively), as
// skimage.measure.euler_number(m, connectivity=3 or 1). A solid ball is 1,
// a torus 0, a hollow sphere 2. Voxels outside the grid are background.
//
// With 26-connectivity each voxel is a closed unit cube and the foreground
// is the cubical complex of all their vertices, edges, faces and cubes:
// chi = V - E + F - C, where a vertex (edge, face) belongs to it when any of
// the 8 (4, 2) voxels around it is foreground. With 6-connectivity voxels
// are open cubes joined only through shared faces, edges and vertices whose
// surrounding voxels are all foreground, and chi = C - F + E - V counted
// with "all" instead of "any".
func EulerNumber(m *Mask, conn Connectivity) (int, error) {
	if err := m.check(); err != nil {
		return 0, err
	}
	if err := conn.check(); err != nil {
		return 0, err
	}
	if conn == Conn18 {
		return 0, errUnsupported18
	}
	all := conn == Conn6
	nx, ny, nz := m.Dims[0], m.Dims[1], m.Dims[2]
	at := func(i, j, k int) bool {
		if i < 0 || j < 0 || k < 0 || i >= nx || j >= ny || k >= nz {
			return false
		}
		return m.Data[i+nx*(j+ny*k)]
	}
	// cell reports whether the cell spanning voxels [i0..i0+di] x ... belongs
	// to the complex: any (26) or all (6) of them foreground.
	cell := func(i0, j0, k0, di, dj, dk int) bool {
		for k := k0; k <= k0+dk; k++ {
			for j := j0; j <= j0+dj; j++ {
				for i := i0; i <= i0+di; i++ {
					if at(i, j, k) != all {
						return !all
					}
				}
			}
		}
		return all
	}
	var v, e, f, c int
	for k := 0; k <= nz; k++ {
		for j := 0; j <= ny; j++ {
			for i := 0; i <= nx; i++ {
				// lattice vertex (i, j, k) is surrounded by voxels i-1..i etc.
				if cell(i-1, j-1, k-1, 1, 1, 1) {
					v++
				}
				if i < nx && cell(i, j-1, k-1, 0, 1, 1) { // edge along x
					e++
				}
				if j < ny && cell(i-1, j, k-1, 1, 0, 1) { // edge along y
					e++
				}
				if k < nz && cell(i-1, j-1, k, 1, 1, 0) { // edge along z
					e++
				}
				if j < ny && k < nz && cell(i-1, j, k, 1, 0, 0) { // face normal x
					f++
				}
				if i < nx && k < nz && cell(i, j-1, k, 0, 1, 0) { // face normal y
					f++
				}
				if i < nx && j < ny && cell(i, j, k-1, 0, 0, 1) { // face normal z
					f++
				}
				if i < nx && j < ny && k < nz && m.Data[i+nx*(j+ny*k)] {
					c++
				}
			}
		}
	}
	if all {
		return c - f + e - v, nil
	}
	return v - e + f - c, nil
}
