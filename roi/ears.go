package roi

import (
	"math"
	"slices"

	"github.com/otoseg/otoseg/volume"
)

// Ear is an inner ear found in a label map or by the localiser.
type Ear struct {
	Side Side
	// Centre is the centre of the labyrinth's bounding box (LPS mm).
	Centre [3]float64
	// ExtentMM is the labyrinth's bounding-box size along LPS x, y, z.
	ExtentMM [3]float64
	// Voxels counts the labelled voxels of this ear.
	Voxels int
}

// MinEarSeparationMM separates two ears: labelled voxels further apart than
// this along the left-right axis belong to different ears. Inner ears sit
// 90-100 mm apart; one labyrinth spans under 25 mm.
const MinEarSeparationMM = 40

// FindEars groups the labelled voxels of a reference label map into ears.
// Voxels are split at the widest gap along LPS x when it exceeds
// MinEarSeparationMM. With two ears the one further to +x is the left; a
// single ear takes its side from the sign of x (scanners put the patient's
// mid-sagittal plane near x = 0).
func FindEars(lab *volume.Volume) []Ear {
	type pt struct{ w [3]float64 }
	var pts []pt
	nx, ny := lab.Dims[0], lab.Dims[1]
	for idx, v := range lab.Data {
		if v <= 0 {
			continue
		}
		i, j, k := idx%nx, idx/nx%ny, idx/(nx*ny)
		pts = append(pts, pt{lab.World(float64(i), float64(j), float64(k))})
	}
	if len(pts) == 0 {
		return nil
	}
	xs := make([]float64, len(pts))
	for i, p := range pts {
		xs[i] = p.w[0]
	}
	slices.Sort(xs)
	split, gap := math.Inf(1), 0.0
	for i := 1; i < len(xs); i++ {
		if d := xs[i] - xs[i-1]; d > gap {
			gap, split = d, (xs[i]+xs[i-1])/2
		}
	}
	if gap < MinEarSeparationMM {
		split = math.Inf(1)
	}
	var groups [2][]pt // [0] x < split, [1] x >= split
	for _, p := range pts {
		if p.w[0] < split {
			groups[0] = append(groups[0], p)
		} else {
			groups[1] = append(groups[1], p)
		}
	}
	var ears []Ear
	for gi, g := range groups {
		if len(g) == 0 {
			continue
		}
		lo := [3]float64{math.Inf(1), math.Inf(1), math.Inf(1)}
		hi := [3]float64{math.Inf(-1), math.Inf(-1), math.Inf(-1)}
		for _, p := range g {
			for a := 0; a < 3; a++ {
				lo[a] = min(lo[a], p.w[a])
				hi[a] = max(hi[a], p.w[a])
			}
		}
		e := Ear{Voxels: len(g)}
		for a := 0; a < 3; a++ {
			e.Centre[a] = (lo[a] + hi[a]) / 2
			// Voxel centres span extent minus one voxel; add the voxel back.
			e.ExtentMM[a] = hi[a] - lo[a] + voxelExtent(lab.Geometry, a)
		}
		switch {
		case !math.IsInf(split, 1) && gi == 1:
			e.Side = Left
		case !math.IsInf(split, 1):
			e.Side = Right
		default:
			e.Side = SideOf(e.Centre, 0)
		}
		ears = append(ears, e)
	}
	return ears
}

// voxelExtent is the size of one voxel along LPS axis a.
func voxelExtent(g volume.Geometry, a int) float64 {
	var s float64
	for c := 0; c < 3; c++ {
		s += math.Abs(g.Direction[a][c]) * g.Spacing[c]
	}
	return s
}
