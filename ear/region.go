// The region of interest around one inner ear is a grid in world space,
// centred on the ear, at the network's spacing, and mirrored for right ears
// so that one network serves both sides.
//
// Mirroring is done by geometry rather than by flipping voxels: a left ear's
// grid runs along +L (lateral), a right ear's along +R (also lateral), so in
// index space every ear looks like a left ear, and pasting a prediction back
// through its grid puts it on the correct side automatically.
package ear

import (
	"math"

	"github.com/otoseg/otoseg/volume"
)

// Side is the patient side an ear sits on.
type Side int

// The two sides. LPS x grows towards the patient's left.
const (
	Left Side = iota
	Right
)

func (s Side) String() string {
	if s == Right {
		return "right"
	}
	return "left"
}

// SideOf returns the side of a world point relative to the mid-sagittal
// plane x = midX (LPS mm).
func SideOf(p [3]float64, midX float64) Side {
	if p[0] >= midX {
		return Left
	}
	return Right
}

// Grid returns the canonical grid of dims voxels at spacing, centred on the
// world point centre (LPS mm), axis-aligned with the patient and mirrored in
// x for right ears.
func Grid(centre [3]float64, side Side, dims [3]int, spacing [3]float64) volume.Geometry {
	g := volume.NewGeometry(dims, spacing)
	if side == Right {
		g.Direction[0][0] = -1
	}
	// Place the grid so that its centre (dims-1)/2 lands on centre.
	for a := 0; a < 3; a++ {
		half := float64(dims[a]-1) / 2 * spacing[a]
		g.Origin[a] = centre[a] - g.Direction[a][a]*half
	}
	return g
}

// DimsFor returns the voxel counts that cover sizeMM at spacing, rounded up
// to a multiple of m (the network's total downsampling factor).
func DimsFor(sizeMM, spacing [3]float64, m int) [3]int {
	var d [3]int
	for a := 0; a < 3; a++ {
		n := int(math.Ceil(sizeMM[a]/spacing[a] - 1e-9))
		if m > 1 {
			n = (n + m - 1) / m * m
		}
		d[a] = max(n, m)
	}
	return d
}
