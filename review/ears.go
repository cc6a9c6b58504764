package review

import (
	"bytes"
	"slices"

	"github.com/otoseg/otoseg/ear"
	"github.com/otoseg/otoseg/volume"
)

// earBox is one inner ear of a label map as the viewer needs it: where the
// slices start (Centre) and the voxel box its 3-D surface is built in.
type earBox struct {
	Centre [3]int // centre of the ear's box, canonical position (see Frame)
	Lo, Hi [3]int // voxel index box of the ear's labelled voxels, inclusive
	Voxels int
}

// earBoxes finds the ears of a label map, the one with more labelled voxels
// first, so that the viewer opens on the larger one. Which voxel belongs to
// which ear is ear.SplitEars' decision, the one training and evaluation
// make: a bilateral scan has two ears, the labels of one ear (or labels not
// split by ear.EarGapMM left to right) one, an empty map none.
func earBoxes(labels []uint8, g volume.Geometry, f Frame) []earBox {
	// LPS x of voxel (i, j, k) is x0 + dx·(i, j, k).
	x0 := g.Origin[0]
	var dx [3]float64
	for c := 0; c < 3; c++ {
		dx[c] = g.Direction[0][c] * g.Spacing[c]
	}
	n := len(labels) - bytes.Count(labels, []byte{0})
	if n == 0 {
		return nil
	}
	at := make([][3]int32, 0, n)
	xs := make([]float64, 0, n)
	p := 0
	for k := 0; k < g.Dims[2]; k++ {
		for j := 0; j < g.Dims[1]; j++ {
			for i := 0; i < g.Dims[0]; i++ {
				if labels[p] != 0 {
					at = append(at, [3]int32{int32(i), int32(j), int32(k)})
					xs = append(xs, x0+dx[0]*float64(i)+dx[1]*float64(j)+dx[2]*float64(k))
				}
				p++
			}
		}
	}
	split := ear.SplitEars(slices.Clone(xs), ear.EarGapMM)
	sides := []ear.Side{ear.Right, ear.Left}
	boxes := make([]earBox, len(sides))
	for s := range boxes {
		boxes[s] = earBox{Lo: g.Dims, Hi: [3]int{-1, -1, -1}}
	}
	for n, v := range at {
		e := &boxes[slices.Index(sides, split.Side(xs[n]))]
		for a := 0; a < 3; a++ {
			e.Lo[a], e.Hi[a] = min(e.Lo[a], int(v[a])), max(e.Hi[a], int(v[a]))
		}
		e.Voxels++
	}
	var ears []earBox
	for _, e := range boxes {
		if e.Voxels > 0 {
			e.Centre = boxCentre(f, e.Lo, e.Hi)
			ears = append(ears, e)
		}
	}
	slices.SortStableFunc(ears, func(a, b earBox) int { return b.Voxels - a.Voxels })
	return ears
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
func earsOf(l *Loaded) []earBox {
	e, _ := l.Derived("ears", func() (any, error) { return earBoxes(l.Labels, l.Geometry, l.Frame), nil })
	return e.([]earBox)
}
