package volume

import "math"

// AxCodes returns the anatomical direction each voxel axis points towards,
// as nibabel's aff2axcodes does on the RAS affine: "RAS" means i runs to the
// patient's Right, j to Anterior, k to Superior. Each axis takes the world
// axis it is closest to, without reusing one (largest component first).
func (g Geometry) AxCodes() string {
	pos := [3]byte{'R', 'A', 'S'}
	neg := [3]byte{'L', 'P', 'I'}
	// RAS direction = LPS direction with x and y negated.
	var ras [3][3]float64
	for r := 0; r < 3; r++ {
		for c := 0; c < 3; c++ {
			ras[r][c] = g.Direction[r][c]
			if r < 2 {
				ras[r][c] = -ras[r][c]
			}
		}
	}
	var code [3]byte
	usedRow := [3]bool{}
	usedCol := [3]bool{}
	for n := 0; n < 3; n++ {
		best, br, bc := -1.0, 0, 0
		for r := 0; r < 3; r++ {
			if usedRow[r] {
				continue
			}
			for c := 0; c < 3; c++ {
				if usedCol[c] {
					continue
				}
				if a := math.Abs(ras[r][c]); a > best {
					best, br, bc = a, r, c
				}
			}
		}
		usedRow[br], usedCol[bc] = true, true
		if ras[br][bc] >= 0 {
			code[bc] = pos[br]
		} else {
			code[bc] = neg[br]
		}
	}
	return string(code[:])
}
