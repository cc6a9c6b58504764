package qc

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/otoseg/otoseg/dataset"
	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/metrics"
)

// BadDice is the labyrinth Dice below which an ear counts as bad: the
// ears a reader would rate 3-4 and QC must send to review.
const BadDice = 0.85

// MinFitDice is the lowest Dice Fit regresses on (see Fit).
const MinFitDice = 0.6

// Sample is one ear of a cohort: its signals (nil when segmentation
// missed the ear) and its labyrinth Dice against the reference.
type Sample struct {
	Case    string   `json:"case_id"`
	Centre  string   `json:"centre"`
	Side    string   `json:"side"`
	Dice    float64  `json:"dice"`
	Signals *Signals `json:"signals,omitempty"`
	Score   float64  `json:"score"`
	Flag    string   `json:"flag"`
	// Reasons are the model's reasons for a low score (Result.Reasons),
	// kept so that a report's per-ear table says why an ear was flagged.
	Reasons []string `json:"reasons,omitempty"`
	// DiceEstimate is the Dice the model predicted (Result.DiceEstimate),
	// to set beside the true one.
	DiceEstimate float64 `json:"dice_estimate"`
}

// Bad says whether the ear's segmentation is bad.
func (s Sample) Bad() bool { return s.Dice < BadDice }

// MaxSidecarBytes bounds a sidecar read: otoseg segment writes a few kB.
const MaxSidecarBytes = 1 << 20

// SidecarEar is one ear of otoseg segment's sidecar (<case_id>.json) as QC
// reads it: the verdict and the signals it was made of, either nil in a
// sidecar of an older version or of another tool.
type SidecarEar struct {
	Side    string   `json:"side"`
	QC      *Result  `json:"qc"`
	Signals *Signals `json:"qc_signals"`
}

// ReadSidecar reads the ears of a sidecar, at most MaxSidecarBytes. A
// missing file is an error satisfying errors.Is(err, fs.ErrNotExist).
func ReadSidecar(path string) ([]SidecarEar, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("qc: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSidecarBytes+1))
	if err != nil {
		return nil, fmt.Errorf("qc: %s: %w", path, err)
	}
	if len(b) > MaxSidecarBytes {
		return nil, fmt.Errorf("qc: %s: larger than %d bytes", path, MaxSidecarBytes)
	}
	var sc struct {
		Ears []SidecarEar `json:"ears"`
	}
	if err := json.Unmarshal(b, &sc); err != nil {
		return nil, fmt.Errorf("qc: %s: %w", path, err)
	}
	return sc.Ears, nil
}

// SidecarSignals reads the QC signals of a sidecar's ears, by side (see
// ReadSidecar); an ear without signals has none in the map.
func SidecarSignals(path string) (map[string]*Signals, error) {
	ears, err := ReadSidecar(path)
	if err != nil {
		return nil, err
	}
	out := map[string]*Signals{}
	for _, e := range ears {
		if e.Signals != nil {
			out[e.Side] = e.Signals
		}
	}
	return out, nil
}

// Collect pairs every reference ear of a manifest with the prediction in
// pred (<case_id>.nii.gz and its <case_id>.json sidecar from otoseg
// segment): the labyrinth Dice per ear, and the QC signals the sidecar
// recorded.
func Collect(manifest, pred string) ([]Sample, error) {
	m, err := dataset.Read(manifest)
	if err != nil {
		return nil, err
	}
	var out []Sample
	for _, c := range m.Cases {
		if c.Label == "" {
			continue
		}
		ref, err := imageio.Read(c.Label)
		if err != nil {
			return nil, err
		}
		pp := filepath.Join(pred, c.ID+".nii.gz")
		pl, err := imageio.Read(pp)
		if err != nil {
			return nil, fmt.Errorf("qc: case %s: %w", c.ID, err)
		}
		res, err := metrics.Evaluate(ref, pl, metrics.Options{})
		if err != nil {
			return nil, fmt.Errorf("qc: case %s: %w", c.ID, err)
		}
		sig, err := SidecarSignals(filepath.Join(pred, c.ID+".json"))
		if err != nil {
			return nil, fmt.Errorf("case %s: %w", c.ID, err)
		}
		for _, r := range res.Rows {
			if r.Ear == metrics.EarBoth || r.Structure != "labyrinth" {
				continue
			}
			out = append(out, Sample{Case: c.ID, Centre: c.Center, Side: r.Ear, Dice: r.Dice, Signals: sig[r.Ear]})
		}
	}
	return out, nil
}

// Fit fits the QC model to samples: ridge regression of the labyrinth
// Dice on the standardised features (the intercept unpenalised), the RMS
// residual, and the flag threshold that sends at least sensitivity of the
// bad ears to review. Dice is clipped below at MinFitDice: a segmentation
// that failed is bad however low its Dice, and unclipped the few failures
// would pull the fit away from the ears near the line that matter. Ears
// segmentation missed have no signals and are left out (they are
// reported as missing, not scored).
func Fit(samples []Sample, lambda, sensitivity float64, source string) (*Model, error) {
	var xs [][]float64
	var ys []float64
	nb := 0
	for _, s := range samples {
		if s.Signals == nil {
			continue
		}
		xs = append(xs, Features(*s.Signals))
		ys = append(ys, math.Max(MinFitDice, s.Dice))
		if s.Bad() {
			nb++
		}
	}
	if nb < 3 || len(ys)-nb < 3 {
		return nil, fmt.Errorf("qc: calibration needs at least 3 good and 3 bad ears (Dice < %.2f), have %d good and %d bad", BadDice, len(ys)-nb, nb)
	}
	k := len(FeatureNames)
	m := &Model{Mean: make([]float64, k), SD: make([]float64, k), Weights: make([]float64, k), Source: source}
	for j := 0; j < k; j++ {
		var s, ss float64
		for _, x := range xs {
			s += x[j]
		}
		m.Mean[j] = s / float64(len(xs))
		for _, x := range xs {
			ss += (x[j] - m.Mean[j]) * (x[j] - m.Mean[j])
		}
		m.SD[j] = math.Max(math.Sqrt(ss/float64(len(xs))), 1e-6)
	}
	// normal equations (Z'Z + λI) β = Z'y on z = (1, standardised x)
	h := make([][]float64, k+1)
	for a := range h {
		h[a] = make([]float64, k+2)
	}
	z := make([]float64, k+1)
	for i, x := range xs {
		z[0] = 1
		for j := 0; j < k; j++ {
			z[j+1] = (x[j] - m.Mean[j]) / m.SD[j]
		}
		for a := 0; a <= k; a++ {
			for b := 0; b <= k; b++ {
				h[a][b] += z[a] * z[b]
			}
			h[a][k+1] += z[a] * ys[i]
		}
	}
	for a := 1; a <= k; a++ {
		h[a][a] += lambda
	}
	beta, err := solve(h)
	if err != nil {
		return nil, fmt.Errorf("qc: fit: %w", err)
	}
	m.Bias = beta[0]
	copy(m.Weights, beta[1:])
	var rss float64
	for i, x := range xs {
		d := m.estimate(x)
		rss += (ys[i] - d) * (ys[i] - d)
	}
	m.ResidualSD = math.Max(math.Sqrt(rss/float64(len(ys))), 1e-3)
	m.Threshold = 1 // score everything while the threshold is chosen
	var bad []float64
	for _, s := range samples {
		if s.Signals != nil && s.Bad() {
			bad = append(bad, m.Assess(*s.Signals).Score)
		}
	}
	slices.Sort(bad)
	// flag (score < threshold) at least the wanted share of bad ears
	i := min(len(bad)-1, max(0, int(math.Ceil(sensitivity*float64(len(bad))))-1))
	m.Threshold = math.Min(1, math.Round((bad[i]+1e-3)*1000)/1000)
	return m, nil
}

// solve solves the augmented system a (n x n+1) by Gaussian elimination
// with partial pivoting.
func solve(a [][]float64) ([]float64, error) {
	n := len(a)
	for c := 0; c < n; c++ {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		if math.Abs(a[p][c]) < 1e-12 {
			return nil, fmt.Errorf("singular system")
		}
		a[c], a[p] = a[p], a[c]
		for r := 0; r < n; r++ {
			if r == c {
				continue
			}
			f := a[r][c] / a[c][c]
			for q := c; q <= n; q++ {
				a[r][q] -= f * a[c][q]
			}
		}
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = a[i][n] / a[i][i]
	}
	return out, nil
}

// Evaluation is how well a QC model separates bad ears from good ones on
// a cohort.
type Evaluation struct {
	Ears int `json:"ears"`
	Bad  int `json:"bad"`
	Good int `json:"good"`
	// Missed counts reference ears segmentation did not find (no score).
	Missed int `json:"missed"`
	// AUROC of (1 - score) for "Dice < 0.85" (Mann-Whitney, ties 1/2).
	AUROC float64 `json:"auroc"`
	// BadFlagged and GoodFlagged count the ears sent to review.
	BadFlagged  int     `json:"bad_flagged"`
	GoodFlagged int     `json:"good_flagged"`
	Threshold   float64 `json:"threshold"`
}

// Evaluate scores samples with m (filling Score and Flag) and measures the
// separation.
func Evaluate(m *Model, samples []Sample) Evaluation {
	ev := Evaluation{Threshold: m.Threshold}
	var bad, good []float64
	for i := range samples {
		s := &samples[i]
		ev.Ears++
		if s.Signals == nil {
			ev.Missed++
			s.Flag = "missed"
			continue
		}
		r := m.Assess(*s.Signals)
		s.Score, s.Flag, s.Reasons, s.DiceEstimate = r.Score, r.Flag, r.Reasons, r.DiceEstimate
		if s.Bad() {
			bad = append(bad, s.Score)
			ev.Bad++
			if r.Flag == Review {
				ev.BadFlagged++
			}
		} else {
			good = append(good, s.Score)
			ev.Good++
			if r.Flag == Review {
				ev.GoodFlagged++
			}
		}
	}
	var u float64
	for _, b := range bad {
		for _, g := range good {
			switch {
			case b < g:
				u++
			case b == g:
				u += 0.5
			}
		}
	}
	if len(bad) > 0 && len(good) > 0 {
		ev.AUROC = u / float64(len(bad)*len(good))
	}
	return ev
}
