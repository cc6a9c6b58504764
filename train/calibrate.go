package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/otoseg/otoseg/dataset"
	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/metrics"
	"github.com/otoseg/otoseg/segment"
	"github.com/otoseg/otoseg/volume"
)

// Calibration is what Calibrate chose on the validation cases.
type Calibration struct {
	Threshold, MinScore float64
	Summary             string
}

// Calibrate chooses, on the validation cases, the two decisions a trained
// model leaves open: the foreground threshold (the one of a few that gives
// the best mean labyrinth Dice on the scans' own grids) and the localiser's
// minimum score (half the weakest validation ear's), so that stray specks
// in scans without ears are not taken for ears. Only ears whose prediction
// overlaps the reference labyrinth count as validation ears: calibration
// runs with no minimum, so a weak false candidate that the segmenter
// happened to prefer (a condyle, a vessel) would otherwise drag the minimum
// down to its own score and let its like through in every later scan (the
// stage-6 run's first calibration chose 12, from a false candidate scoring
// 23, where the true ears scored 350 and more).
func Calibrate(ctx context.Context, log io.Writer, m *segment.Model, cases []dataset.Case) (Calibration, error) {
	thresholds := []float64{0.5, 0.45, 0.4, 0.35, 0.3}
	sums := make([]float64, len(thresholds))
	n := 0
	weakest, strongestFalse := math.Inf(1), 0.0
	m.Plan.Locator.MinScore = 0
	bar := newBar(log, len(cases)*len(thresholds), "calibration")
	for _, c := range cases {
		img, err := imageio.Read(c.Image)
		if err != nil {
			return Calibration{}, err
		}
		ref, err := imageio.Read(c.Label)
		if err != nil {
			return Calibration{}, err
		}
		// One localisation and prediction, pasted at every threshold.
		rs, err := m.SegmentAt(ctx, img, segment.DefaultOptions(), thresholds)
		n++
		_ = bar.Add(len(thresholds))
		if errors.Is(err, segment.ErrNoEar) {
			continue // a missed case scores 0 at every threshold
		}
		if err != nil {
			return Calibration{}, err
		}
		for _, e := range rs[0].Ears {
			if overlapsReference(ref, rs[0].Labels, e) {
				weakest = min(weakest, e.LocatorScore)
			} else {
				strongestFalse = max(strongestFalse, e.LocatorScore)
			}
		}
		for ti, res := range rs {
			if len(res.Ears) > 0 {
				sums[ti] += metrics.DiceOf(ref.Data, res.Labels.Data, func(v float32) bool { return v > 0 })
			}
		}
	}
	_ = bar.Finish()
	best := 0
	var parts []string
	for i := range thresholds {
		if sums[i] > sums[best] {
			best = i
		}
		parts = append(parts, fmt.Sprintf("%.2f: %.4f", thresholds[i], sums[i]/float64(max(n, 1))))
	}
	cal := Calibration{Threshold: thresholds[best]}
	if !math.IsInf(weakest, 1) {
		cal.MinScore = math.Round(weakest / 2)
	}
	cal.Summary = fmt.Sprintf("on %d validation cases, mean labyrinth Dice by foreground threshold {%s}: chose %.2f; localiser minimum score %.0f (half the weakest validation ear, %.0f)",
		n, strings.Join(parts, ", "), cal.Threshold, cal.MinScore, weakest)
	if strongestFalse > 0 {
		cal.Summary += fmt.Sprintf("; false ears found (no overlap with the reference) scored up to %.0f", strongestFalse)
	}
	fmt.Fprintln(log, "calibration:", cal.Summary)
	return cal, nil
}

// overlapsReference reports whether ear e's labels in pred share a voxel
// with the reference labyrinth: a found ear that is really an ear.
func overlapsReference(ref, pred *volume.Volume, e segment.Ear) bool {
	for k := e.BoxLo[2]; k <= e.BoxHi[2]; k++ {
		for j := e.BoxLo[1]; j <= e.BoxHi[1]; j++ {
			for i := e.BoxLo[0]; i <= e.BoxHi[0]; i++ {
				idx := pred.Index(i, j, k)
				if pred.Data[idx] > 0 && ref.Data[idx] > 0 {
					return true
				}
			}
		}
	}
	return false
}
