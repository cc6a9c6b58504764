package review

import (
	"slices"

	"github.com/otoseg/otoseg/roi"
	"github.com/otoseg/otoseg/volume"
)

// Ear is one inner ear of a label map as the viewer needs it: where the
// slices start (Centre) and the voxel box its 3-D surface is built in.
type Ear struct {
	Centre [3]int // centre of the ear's box, canonical position (see Frame)
	Lo, Hi [3]int // voxel index box of the ear's labelled voxels, inclusive
	Voxels int
}

// Ears finds the ears of a label map, the one with more labelled voxels
// first, so that the viewer opens on the larger one. Which voxel belongs to
// which ear is roi.SplitEars' decision, the one training and evaluation
// make: a bilateral scan has two ears, the labels of one ear (or labels not
// split by roi.EarGapMM left to right) one, an empty map none.
func Ears(labels []uint8, g volume.Geometry, f Frame) []Ear {
	var at []int
	var xs []float64
	for p, l := range labels {
		if l != 0 {
			v := voxelOf(p, g.Dims)
			at = append(at, p)
			xs = append(xs, g.World(float64(v[0]), float64(v[1]), float64(v[2]))[0])
		}
	}
	if len(at) == 0 {
		return nil
	}
	split := roi.SplitEars(slices.Clone(xs), roi.EarGapMM)
	var ears []Ear
	for _, side := range []roi.Side{roi.Right, roi.Left} {
		e := Ear{Lo: g.Dims, Hi: [3]int{-1, -1, -1}}
		for n, p := range at {
			if split.Side(xs[n]) != side {
				continue
			}
			v := voxelOf(p, g.Dims)
			for a := 0; a < 3; a++ {
				e.Lo[a], e.Hi[a] = min(e.Lo[a], v[a]), max(e.Hi[a], v[a])
			}
			e.Voxels++
		}
		if e.Voxels > 0 {
			e.Centre = boxCentre(f, e.Lo, e.Hi)
			ears = append(ears, e)
		}
	}
	slices.SortStableFunc(ears, func(a, b Ear) int { return b.Voxels - a.Voxels })
	return ears
}

// voxelOf is the voxel index (i, j, k) of flat offset p.
func voxelOf(p int, dims [3]int) [3]int {
	return [3]int{p % dims[0], p / dims[0] % dims[1], p / (dims[0] * dims[1])}
}

// boxCentre is the canonical position of the centre of voxel box [lo, hi].
func boxCentre(f Frame, lo, hi [3]int) [3]int {
	a, b := f.Canonical(lo), f.Canonical(hi)
	var c [3]int
	for d := 0; d < 3; d++ {
		c[d] = (min(a[d], b[d]) + max(a[d], b[d])) / 2
	}
	return c
}

// earsOf returns the ears of a label map, computed once per cached volume.
func earsOf(l *Loaded) []Ear {
	e, _ := l.Derived("ears", func() (any, error) { return Ears(l.Labels, l.Geometry, l.Frame), nil })
	return e.([]Ear)
}
