package qc

import (
	"cmp"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"

	"github.com/otoseg/otoseg/morph"
	"github.com/otoseg/otoseg/volume"
)

// Result is the verdict on one ear.
type Result struct {
	// Score in [0, 1]: the calibrated probability that the labyrinth's
	// Dice is at least 0.85. Flag is "review" below the calibrated
	// threshold, else "ok"; Reasons name the signals that pulled it down.
	Score   float64  `json:"score"`
	Flag    string   `json:"flag"`
	Reasons []string `json:"reasons"`
	// DiceEstimate is the labyrinth Dice the signals predict.
	DiceEstimate float64 `json:"dice_estimate"`
}

// Flags.
const (
	OK     = "ok"
	Review = "review"
)

// Features turns signals into the regression's inputs, in FeatureNames
// order: the network's uncertainty (entropy, soft-Dice gap), its
// disagreement with itself on the mirrored patch, and the slice
// thickness. On the calibration cohorts these carried the Dice; weighting
// the structure ambiguity, the labyrinth's volume, pieces and canal loops
// or the localiser's score as well fitted the calibration cohort better
// and a fresh one worse (harsher-scanner cohort: 46% of good ears flagged
// with them, 25-32% without), so those gate gross failures instead
// (grossFailures) or are recorded for the reader only.
func Features(s Signals) []float64 {
	return []float64{
		math.Min(s.Entropy, 10),
		s.SoftDiceGap,
		s.MirrorGap,
		s.SliceMM,
	}
}

// FeatureNames name the features; reasonText the reason each but the
// slice thickness gives.
var FeatureNames = []string{"entropy", "soft_dice_gap", "mirror", "slice"}

var reasonText = map[string]string{
	"entropy":       "uncertain boundary (probability entropy %.2f bits per voxel)",
	"soft_dice_gap": "the network is unsure of its own label (soft-Dice gap %.3f)",
	"mirror":        "the network answers differently on the mirrored scan (disagreement %.2f)",
}

// Gross failures send an ear to review whatever its score: a labyrinth
// cut by the region of interest, one under a third of the adult volume,
// or one the localiser barely saw. Of the 200 ears of the calibration and
// fresh cohorts one showed one (a cut labyrinth), and it was bad; a
// calibration cohort holds too few such failures to weight them.
const (
	maxBorderShare = 0.02
	minVolumeMM3   = 60
	minLocator     = 50
)

// grossFailures lists the gross failures of an ear, as reasons.
func grossFailures(s Signals) []string {
	var out []string
	if s.Border > maxBorderShare {
		out = append(out, fmt.Sprintf("labyrinth cut by the region's border (%.0f%% of its voxels touch it)", 100*s.Border))
	}
	if s.VolumeMM3 < minVolumeMM3 {
		out = append(out, fmt.Sprintf("labyrinth volume %.0f mm³, under a third of the adult 187 ± 24", s.VolumeMM3))
	}
	if s.LocatorScore < minLocator {
		out = append(out, fmt.Sprintf("weak localiser evidence (score %.1f)", s.LocatorScore))
	}
	return out
}

// Model is a ridge regression from standardised features to the ear's
// labyrinth Dice, with the spread of its residuals on the calibration
// cohort, and the flag threshold. The score is the probability, for a
// normal residual of that spread, that the Dice is at least BadDice.
// Regressing the Dice itself uses every ear's Dice, where a classifier of
// "Dice < 0.85" learns only from the few bad ears a cohort holds.
type Model struct {
	Mean    []float64 `json:"mean"`
	SD      []float64 `json:"sd"`
	Weights []float64 `json:"weights"`
	Bias    float64   `json:"bias"`
	// ResidualSD is the RMS of Dice minus its estimate on the calibration
	// cohort.
	ResidualSD float64 `json:"residual_sd"`
	Threshold  float64 `json:"threshold"`
	// Source says which cohorts it was fitted on.
	Source string `json:"source"`
}

//go:embed calibration.json
var calibrationJSON []byte

// Default is the model calibrated by scripts/calibrate-qc.sh on the
// hard-scanner phantom cohort, embedded in the binary.
func Default() (*Model, error) {
	var m Model
	if err := json.Unmarshal(calibrationJSON, &m); err != nil {
		return nil, fmt.Errorf("qc: embedded calibration: %w", err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("qc: embedded calibration: %w", err)
	}
	return &m, nil
}

// ReadModel reads a calibration written by `otoseg qc calibrate`.
func ReadModel(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("qc: %w", err)
	}
	var m Model
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("qc: %s: %w", path, err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("qc: %s: %w", path, err)
	}
	return &m, nil
}

func (m *Model) check() error {
	n := len(FeatureNames)
	if len(m.Mean) != n || len(m.SD) != n || len(m.Weights) != n {
		return fmt.Errorf("want %d features, have mean %d, sd %d, weights %d", n, len(m.Mean), len(m.SD), len(m.Weights))
	}
	for i, sd := range m.SD {
		if !(sd > 0) {
			return fmt.Errorf("feature %s: sd %g, want > 0", FeatureNames[i], sd)
		}
	}
	if !(m.ResidualSD > 0) {
		return fmt.Errorf("residual_sd %g, want > 0", m.ResidualSD)
	}
	if m.Threshold < 0 || m.Threshold > 1 {
		return fmt.Errorf("threshold %g outside [0, 1]", m.Threshold)
	}
	return nil
}

// contribution is feature i's term in the Dice estimate for value v.
func (m *Model) contribution(i int, v float64) float64 {
	return m.Weights[i] * (v - m.Mean[i]) / m.SD[i]
}

// estimate is the Dice the features x predict.
func (m *Model) estimate(x []float64) float64 {
	d := m.Bias
	for i, v := range x {
		d += m.contribution(i, v)
	}
	return d
}

// Assess scores one ear.
func (m *Model) Assess(s Signals) Result {
	x := Features(s)
	d := m.estimate(x)
	type pull struct {
		name string
		v    float64
	}
	var pulls []pull
	for i, v := range x {
		// a reason: a signal that lowers the estimate by more than half
		// the estimate's own uncertainty (the slice thickness only adjusts
		// the others: for its slices an ear's uncertainty is expected)
		if c := m.contribution(i, v); c < -0.5*m.ResidualSD {
			if _, ok := reasonText[FeatureNames[i]]; ok {
				pulls = append(pulls, pull{FeatureNames[i], c})
			}
		}
	}
	p := 0.5 * math.Erfc(-(d-BadDice)/(m.ResidualSD*math.Sqrt2))
	r := Result{Score: math.Round(1000*p) / 1000, Flag: OK, Reasons: []string{}, DiceEstimate: math.Round(1000*d) / 1000}
	if r.Score < m.Threshold {
		r.Flag = Review
	}
	slices.SortFunc(pulls, func(a, b pull) int { return cmp.Compare(a.v, b.v) })
	for _, p := range pulls {
		r.Reasons = append(r.Reasons, reason(p.name, s))
	}
	if g := grossFailures(s); len(g) > 0 {
		r.Flag = Review
		r.Reasons = append(r.Reasons, g...)
	}
	return r
}

func reason(name string, s Signals) string {
	f := reasonText[name]
	switch name {
	case "entropy":
		return fmt.Sprintf(f, s.Entropy)
	case "soft_dice_gap":
		return fmt.Sprintf(f, s.SoftDiceGap)
	}
	return fmt.Sprintf(f, s.MirrorGap)
}

// LabelSignals adds the label-based signals of one ear: the labyrinth
// (labels > 0) inside the voxel box lo..hi (inclusive) of labels, which
// lie on the scan's grid (so its spacing is the scan's).
func LabelSignals(s *Signals, labels *volume.Volume, lo, hi [3]int) error {
	for a := 0; a < 3; a++ {
		lo[a] = max(0, lo[a]-1)
		hi[a] = min(labels.Dims[a], hi[a]+2)
	}
	box, err := volume.Crop(labels, lo, hi)
	if err != nil {
		return fmt.Errorf("qc: %w", err)
	}
	s.SliceMM = max(labels.Spacing[0], labels.Spacing[1], labels.Spacing[2])
	m := morph.Nonzero(box)
	n := m.Count()
	s.VolumeMM3 = float64(n) * labels.Spacing[0] * labels.Spacing[1] * labels.Spacing[2]
	comps, err := morph.Label(m, morph.Conn26)
	if err != nil {
		return fmt.Errorf("qc: %w", err)
	}
	chi, err := morph.EulerNumber(m, morph.Conn26)
	if err != nil {
		return fmt.Errorf("qc: %w", err)
	}
	s.Pieces = comps.N
	s.Loops = comps.N - chi
	return nil
}
