package volume

import "math"

// AxCodes returns the anatomical direction each voxel axis points towards,
// as nibabel's aff2axcodes does on the RAS affine: "RAS" means i runs to the
// patient's Right, j to Anterior, k to Superior. Like nibabel's
// io_orientation, axes are taken in order i, j, k, each choosing the world
// axis it has the largest component along among those not already chosen
// (the first on a tie), so heavily oblique volumes get nibabel's answer.
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
	for c := 0; c < 3; c++ {
		best, br := -1.0, 0
		for r := 0; r < 3; r++ {
			if usedRow[r] {
				continue
			}
			if a := math.Abs(ras[r][c]); a > best {
				best, br = a, r
			}
		}
		usedRow[br] = true
		if ras[br][c] >= 0 {
			code[c] = pos[br]
		} else {
			code[c] = neg[br]
		}
	}
	return string(code[:])
}
