package locate

import (
	"math"

	"github.com/otoseg/otoseg/ear"
	"github.com/otoseg/otoseg/internal/parallel"
	"github.com/otoseg/otoseg/volume"
)

// The otic capsule, the bone around the labyrinth, is among the densest bone
// of the body: its voxels lie in OticLowHU..OticHighHU (DensestBone uses the
// same range). Above it is metal and its streaks.
const (
	OticLowHU  = 1700
	OticHighHU = 2800
)

// SearchMarginMM is the scan kept around the otic-dense bone when the
// localiser looks there first (Find). It is more than the labyrinth's reach
// beyond its capsule (a few mm) plus the localiser's foreground around it
// (its components span 12-20 mm), so an ear lies well inside the crop and
// not at the edge the network pads with zeros.
const SearchMarginMM = 24

// denseBox returns the index box [lo, hi) of img holding every voxel in
// OticLowHU..OticHighHU, and false when there is none. It is the region
// that can hold an inner ear: noise or other dense bone only grows it.
// Slices are scanned in parallel: a head is 50 M voxels.
func denseBox(img *volume.Volume) (lo, hi [3]int, ok bool) {
	type slab struct{ lo, hi [2]int } // x and y of one slice; lo[0] < 0: none
	nx, ny, nz := img.Dims[0], img.Dims[1], img.Dims[2]
	slabs := make([]slab, nz)
	parallel.For(nz, func() struct{} { return struct{}{} }, func(k int, _ struct{}) {
		s := slab{lo: [2]int{-1, ny}, hi: [2]int{-1, -1}}
		for j := 0; j < ny; j++ {
			row := img.Data[nx*(j+ny*k) : nx*(j+ny*k)+nx]
			first := -1
			for i, v := range row {
				if v >= OticLowHU && v <= OticHighHU {
					first = i
					break
				}
			}
			if first < 0 {
				continue
			}
			last := first
			for i := nx - 1; i > first; i-- {
				if v := row[i]; v >= OticLowHU && v <= OticHighHU {
					last = i
					break
				}
			}
			if s.lo[0] < 0 || first < s.lo[0] {
				s.lo[0] = first
			}
			s.hi[0] = max(s.hi[0], last+1)
			s.lo[1], s.hi[1] = min(s.lo[1], j), j+1
		}
		slabs[k] = s
	})
	lo = img.Dims
	for k, s := range slabs {
		if s.lo[0] < 0 {
			continue
		}
		lo[0], hi[0] = min(lo[0], s.lo[0]), max(hi[0], s.hi[0])
		lo[1], hi[1] = min(lo[1], s.lo[1]), max(hi[1], s.hi[1])
		lo[2], hi[2] = min(lo[2], k), max(hi[2], k+1)
		ok = true
	}
	return lo, hi, ok
}

// oticSearch is where Find looks for the ears first: the box [lo, hi) of
// the coarse grid c around the otic-dense bone, which itself spans the
// continuous indices dlo..dhi of c.
type oticSearch struct {
	c        volume.Geometry
	lo, hi   [3]int
	dlo, dhi [3]float64
}

// earSlackMM is how far outside the otic-dense bone's box a candidate's
// centre may lie and still be an ear in that bone: the labyrinth lies
// inside its capsule, and the localiser's centre is within a coarse voxel
// or two of it.
const earSlackMM = 6

// inBone reports whether world position w lies in the otic-dense bone's
// box grown by earSlackMM.
func (s oticSearch) inBone(w [3]float64) bool {
	ci := s.c.ContinuousIndex(w)
	for a := 0; a < 3; a++ {
		m := earSlackMM / s.c.Spacing[a]
		if ci[a] < s.dlo[a]-m || ci[a] > s.dhi[a]+m {
			return false
		}
	}
	return true
}

// final reports whether cands, found in the search box, are the answer:
// ears on both sides, the most confident of each in the otic-dense bone. A
// head has no more ears, and each lies in its capsule; a candidate beside
// the bone of the other ear is not the second ear, whose own capsule may
// just be less dense than OticLowHU and outside the box.
func (s oticSearch) final(cands []Candidate) bool {
	best := map[ear.Side]Candidate{}
	for _, c := range cands {
		if _, ok := best[c.Side]; !ok {
			best[c.Side] = c
		}
	}
	if len(best) < 2 {
		return false
	}
	for _, c := range best {
		if !s.inBone(c.Centre) {
			return false
		}
	}
	return true
}

// searchBox maps the dense-bone box of img onto the coarse grid c (Coarse's
// output for img), grows it by marginMM on every side and then, centred,
// to at least patch voxels per axis (real scan rather than the air padding
// would give, so the network sees what it saw in training), all within c.
// It returns false when img holds no otic-dense bone.
func searchBox(img *volume.Volume, c volume.Geometry, patch [3]int, marginMM float64) (oticSearch, bool) {
	s := oticSearch{c: c}
	dlo, dhi, ok := denseBox(img)
	if !ok {
		return s, false
	}
	flo, fhi := &s.dlo, &s.dhi
	for a := 0; a < 3; a++ {
		flo[a], fhi[a] = math.Inf(1), math.Inf(-1)
	}
	// The box's corners (outer voxel faces) in world space, then in
	// coarse continuous indices: the direction may differ (Coarse reorients
	// to LPS), so take the extremes of all eight.
	for corner := 0; corner < 8; corner++ {
		var idx [3]float64
		for a := 0; a < 3; a++ {
			idx[a] = float64(dlo[a]) - 0.5
			if corner&(1<<a) != 0 {
				idx[a] = float64(dhi[a]) - 0.5
			}
		}
		ci := c.ContinuousIndex(img.World(idx[0], idx[1], idx[2]))
		for a := 0; a < 3; a++ {
			flo[a], fhi[a] = min(flo[a], ci[a]), max(fhi[a], ci[a])
		}
	}
	lo, hi := &s.lo, &s.hi
	for a := 0; a < 3; a++ {
		// Coarse voxel n spans continuous indices n-0.5..n+0.5.
		m := marginMM / c.Spacing[a]
		lo[a] = max(0, int(math.Floor(flo[a]-m+0.5)))
		hi[a] = min(c.Dims[a], int(math.Floor(fhi[a]+m+0.5))+1)
		if need := patch[a] - (hi[a] - lo[a]); need > 0 {
			lo[a] -= need / 2
			hi[a] += need - need/2
			if lo[a] < 0 {
				hi[a] -= lo[a]
				lo[a] = 0
			}
			if hi[a] > c.Dims[a] {
				lo[a] -= hi[a] - c.Dims[a]
				hi[a] = c.Dims[a]
			}
			lo[a] = max(lo[a], 0)
		}
		if lo[a] >= hi[a] {
			return s, false // the dense bone lies outside the coarse grid
		}
	}
	return s, true
}
