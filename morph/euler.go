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
	table := eulerTable(conn == Conn6)
	nx, ny, nz := m.Dims[0], m.Dims[1], m.Dims[2]
	// Zero-padded copy, so every lattice vertex has its 2x2x2 block of
	// voxels: vertex (i, j, k) sits between padded voxels i..i+1 etc.
	px, py := nx+2, ny+2
	pad := make([]uint8, px*py*(nz+2))
	for k := 0; k < nz; k++ {
		for j := 0; j < ny; j++ {
			row := m.Data[nx*(j+ny*k) : nx*(j+ny*k)+nx]
			dst := pad[1+px*(j+1+py*(k+1)):]
			for i, b := range row {
				if b {
					dst[i] = 1
				}
			}
		}
	}
	sy, sz := px, px*py
	chi := 0
	for k := 0; k <= nz; k++ {
		for j := 0; j <= ny; j++ {
			p := px * (j + py*k)
			for i := 0; i <= nx; i++ {
				q := p + i
				cfg := pad[q] | pad[q+1]<<1 | pad[q+sy]<<2 | pad[q+sy+1]<<3 |
					pad[q+sz]<<4 | pad[q+sz+1]<<5 | pad[q+sz+sy]<<6 | pad[q+sz+sy+1]<<7
				chi += int(table[cfg])
			}
		}
	}
	return chi, nil
}

// eulerTable gives, for each pattern of the 8 voxels around a lattice
// vertex (bit dx + 2dy + 4dz for voxel offset (dx, dy, dz) from the lower
// corner), the signed count of the cells that vertex owns: itself, the
// edges and faces leaving it towards +x, +y, +z, and the cube of its upper
// voxel. A cell is in the complex when any (26-connectivity) or all
// (6-connectivity) of the voxels around it are foreground; summing over all
// vertices counts every cell once.
func eulerTable(all bool) [256]int8 {
	var t [256]int8
	in := func(cfg int, bits ...int) bool {
		for _, b := range bits {
			if (cfg>>b)&1 == 1 != all {
				return !all
			}
		}
		return all
	}
	for cfg := 0; cfg < 256; cfg++ {
		count := func(ok bool) int {
			if ok {
				return 1
			}
			return 0
		}
		v := count(in(cfg, 0, 1, 2, 3, 4, 5, 6, 7))
		e := count(in(cfg, 1, 3, 5, 7)) + count(in(cfg, 2, 3, 6, 7)) + count(in(cfg, 4, 5, 6, 7))
		f := count(in(cfg, 6, 7)) + count(in(cfg, 5, 7)) + count(in(cfg, 3, 7))
		c := count(in(cfg, 7))
		if all {
			t[cfg] = int8(c - f + e - v)
		} else {
			t[cfg] = int8(v - e + f - c)
		}
	}
	return t
}
