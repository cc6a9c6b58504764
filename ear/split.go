package ear

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

// EarGapMM is the default smallest empty gap, along the patient's
// left-right axis (LPS x), between labelled voxels that separates a left
// and a right ear. One labyrinth spans under 20 mm in x and the two lie 60
// to 100 mm apart, so 20 mm splits every head and never splits one ear.
// Every "which ear" decision on label maps (FindEars for training, the
// evaluation's per-ear rows in package metrics) goes through SplitEars with
// this gap unless told otherwise.
const EarGapMM = 20.0

// MinEarSeparationMM is how far apart along LPS x two detected ear centres
// must be to count as two ears (package locate): centres of one ear's
// detections lie within a few mm, those of two ears 60 to 100 mm apart.
const MinEarSeparationMM = 40

// EarSplit is how a label map's labelled voxels divide into ears.
type EarSplit struct {
	// Split is true when two ears were found. PlaneX is then the LPS x (mm)
	// of the sagittal plane midway across the widest gap: x > PlaneX is the
	// patient's left (LPS +x), the rest the right.
	Split  bool
	PlaneX float64
	// GapMM is the widest gap between neighbouring voxels along x.
	GapMM float64
	// CentroidX is the mean LPS x of the voxels. Without a split its sign
	// gives the side of the one ear: scanners put the patient's
	// mid-sagittal plane near x = 0.
	CentroidX float64
}

// SplitEars decides which ear each labelled voxel belongs to from the LPS x
// (mm) of every labelled voxel; it sorts xs in place. The sorted x leave a
// widest gap; a gap of at least gapMM (EarGapMM when gapMM <= 0) splits the
// voxels into two ears at its middle. Otherwise they form one ear, the left
// when their centroid has x > 0. Without voxels there is no ear: the zero
// EarSplit, which callers check with len(xs).
func SplitEars(xs []float64, gapMM float64) EarSplit {
	if gapMM <= 0 {
		gapMM = EarGapMM
	}
	var s EarSplit
	if len(xs) == 0 {
		return s
	}
	slices.Sort(xs)
	at := 0
	for i := 1; i < len(xs); i++ {
		if g := xs[i] - xs[i-1]; g > s.GapMM {
			s.GapMM, at = g, i
		}
	}
	if s.GapMM >= gapMM {
		s.Split, s.PlaneX = true, (xs[at-1]+xs[at])/2
	}
	for _, x := range xs {
		s.CentroidX += x
	}
	s.CentroidX /= float64(len(xs))
	return s
}

// Side returns the ear of a labelled voxel at LPS x: with two ears its side
// of the plane, with one the side of the centroid.
func (s EarSplit) Side(x float64) Side {
	if !s.Split {
		x, s.PlaneX = s.CentroidX, 0
	}
	if x > s.PlaneX {
		return Left
	}
	return Right
}

// FindEars groups the labelled voxels of a reference label map into ears
// with SplitEars and EarGapMM, the right ear first.
func FindEars(lab *volume.Volume) []Ear {
	var pts [][3]float64
	nx, ny := lab.Dims[0], lab.Dims[1]
	for idx, v := range lab.Data {
		if v <= 0 {
			continue
		}
		i, j, k := idx%nx, idx/nx%ny, idx/(nx*ny)
		pts = append(pts, lab.World(float64(i), float64(j), float64(k)))
	}
	if len(pts) == 0 {
		return nil
	}
	xs := make([]float64, len(pts))
	for i, p := range pts {
		xs[i] = p[0]
	}
	split := SplitEars(xs, EarGapMM)
	var ears []Ear
	for _, side := range []Side{Right, Left} {
		e := Ear{Side: side}
		lo := [3]float64{math.Inf(1), math.Inf(1), math.Inf(1)}
		hi := [3]float64{math.Inf(-1), math.Inf(-1), math.Inf(-1)}
		for _, p := range pts {
			if split.Side(p[0]) != side {
				continue
			}
			e.Voxels++
			for a := 0; a < 3; a++ {
				lo[a] = min(lo[a], p[a])
				hi[a] = max(hi[a], p[a])
			}
		}
		if e.Voxels == 0 {
			continue
		}
		for a := 0; a < 3; a++ {
			e.Centre[a] = (lo[a] + hi[a]) / 2
			// Voxel centres span extent minus one voxel; add the voxel back.
			e.ExtentMM[a] = hi[a] - lo[a] + voxelExtent(lab.Geometry, a)
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

// LabelCentre returns the voxel nearest the centroid of the voxels labelled
// want (any label > 0 for Background) in the ear with more labelled voxels:
// SplitEars divides the labyrinth voxels into ears, so a picture through
// the centre shows one ear, never the empty middle of the head. ok is false
// when no voxel has the label in that ear.
func LabelCentre(lab *volume.Volume, want Label) (c [3]int, ok bool) {
	nx, ny := lab.Dims[0], lab.Dims[1]
	var xs []float64
	for idx, v := range lab.Data {
		if v > 0 {
			i, j, k := idx%nx, idx/nx%ny, idx/(nx*ny)
			xs = append(xs, lab.World(float64(i), float64(j), float64(k))[0])
		}
	}
	if len(xs) == 0 {
		return c, false
	}
	split := SplitEars(slices.Clone(xs), EarGapMM)
	var count [2]int
	for _, x := range xs {
		count[split.Side(x)]++
	}
	side := Left
	if count[Right] > count[Left] {
		side = Right
	}
	var sum [3]float64
	n, p := 0, 0
	for idx, v := range lab.Data {
		if v <= 0 {
			continue
		}
		x := xs[p]
		p++
		if split.Side(x) != side || (want != Background && v != float32(want)) {
			continue
		}
		sum[0] += float64(idx % nx)
		sum[1] += float64(idx / nx % ny)
		sum[2] += float64(idx / (nx * ny))
		n++
	}
	if n == 0 {
		return c, false
	}
	for a := range c {
		c[a] = int(math.Round(sum[a] / float64(n)))
	}
	return c, true
}
