// Package qc scores how much each automatic segmentation of an ear can be
// trusted, so a reader looks at the ears that need it instead of every
// one: a score in [0, 1] (1 trustworthy), a flag ("ok" or "review") and
// the reasons. The score combines what the model and the anatomy say for
// free: the probabilities' uncertainty, the disagreement between the
// plain and a mirrored prediction (test-time augmentation on the patch
// round the labyrinth), how far the labyrinth lies from
// the region's border, the localiser's confidence, the labyrinth's volume
// against the adult range and its topology (pieces, and canal loops from
// the Euler characteristic). Its weights and threshold are calibrated on
// phantom cohorts from hard scanners (scripts/calibrate-qc.sh).
package qc

import (
	"math"
)

// Signals are the per-ear quantities the score is computed from.
type Signals struct {
	// Entropy is the binary entropy of the foreground probability (bits)
	// summed over the region and divided by the labyrinth's voxels: how
	// much uncertain boundary there is per voxel of labyrinth.
	Entropy float64 `json:"entropy_per_voxel"`
	// SoftDiceGap is 1 minus the Dice between the foreground probabilities
	// and their thresholded label: 0 for a network sure of every voxel.
	SoftDiceGap float64 `json:"soft_dice_gap"`
	// Ambiguity is the mean, over labyrinth voxels, of 1 - (most likely
	// structure's probability / foreground probability): cochlea,
	// vestibule and canals confused with each other.
	Ambiguity float64 `json:"structure_ambiguity"`
	// Border is the share of labyrinth voxels within two voxels of the
	// region of interest's faces: a labyrinth cut by the region.
	Border float64 `json:"border_share"`
	// MirrorGap is the disagreement between the network's structure
	// probabilities on the patch round the labyrinth and its prediction
	// of the same patch mirrored along all three axes (1 - soft Jaccard):
	// test-time augmentation as a second opinion.
	MirrorGap float64 `json:"mirror_gap"`
	// SliceMM is the scan's coarsest voxel spacing (mm): thick slices
	// blur the labyrinth's thin walls along them, and the Dice with them.
	SliceMM float64 `json:"slice_mm"`
	// LocatorScore is the localiser's confidence in the ear.
	LocatorScore float64 `json:"locator_score"`
	// VolumeMM3 is the labelled labyrinth volume.
	VolumeMM3 float64 `json:"volume_mm3"`
	// Pieces counts the labyrinth's connected components (26-connected);
	// Loops its tunnels (components - Euler characteristic, the label map
	// having no cavities after hole filling): 3 for three canals.
	Pieces int `json:"pieces"`
	Loops  int `json:"loops"`
}

// ProbabilitySignals computes the probability-based signals from a class
// probability map (C planes of dims, plane 0 background) and the
// foreground threshold tau.
func ProbabilitySignals(prob []float32, C int, dims [3]int, tau float64) Signals {
	n := dims[0] * dims[1] * dims[2]
	var s Signals
	var ent, sumP, sumPfg, amb float64
	fg, border := 0, 0
	nx, ny := dims[0], dims[1]
	for i := 0; i < n; i++ {
		p := 1 - float64(prob[i])
		if p <= 1e-6 {
			continue
		}
		if p < 1-1e-6 {
			ent += -p*math.Log2(p) - (1-p)*math.Log2(1-p)
		}
		sumP += p
		if p < tau {
			continue
		}
		fg++
		sumPfg += p
		best := 0.0
		for c := 1; c < C; c++ {
			best = math.Max(best, float64(prob[c*n+i]))
		}
		amb += 1 - best/p
		x, y, z := i%nx, i/nx%ny, i/(nx*ny)
		if x < 2 || y < 2 || z < 2 || x >= dims[0]-2 || y >= dims[1]-2 || z >= dims[2]-2 {
			border++
		}
	}
	if fg == 0 {
		return Signals{Entropy: math.Inf(1), SoftDiceGap: 1, Ambiguity: 1, Border: 0}
	}
	s.Entropy = ent / float64(fg)
	s.SoftDiceGap = 1 - 2*sumPfg/(sumP+float64(fg))
	s.Ambiguity = amb / float64(fg)
	s.Border = float64(border) / float64(fg)
	return s
}
