// Package evaluate runs the validation study of otoseg on a cohort: it compares
// predicted label maps with the manifest's references (package metrics),
// summarises the metrics per stratum with confidence intervals and tests
// (package stats), compares automated with manual processing time, analyses
// the readers' Likert ratings, and writes cases.csv, summary.json, the plots
// and a self-contained report.html.
//
// Everything is deterministic: cases are processed in manifest order, the
// bootstrap is seeded, and the report carries no clock time, so rerunning
// on the same inputs gives identical files.
package evaluate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/otoseg/otoseg/dataset"
	"github.com/otoseg/otoseg/metrics"
	"github.com/otoseg/otoseg/volume"
)

// Config describes one evaluation.
type Config struct {
	Manifest string // manifest CSV; references are its label column
	// RefFile, instead of Manifest, evaluates one pair: the reference label
	// map RefFile against the prediction file PredFile; the case id is the
	// reference's file name without extension.
	RefFile  string
	PredFile string
	PredDir  string // predictions DIR/<case_id>.<ext>, optional sidecars DIR/<case_id>.json
	OutDir   string // report directory, created if needed
	Times    string // optional times CSV (case_id,seconds); overrides sidecars
	Ratings  string // optional ratings CSV from the review app
	// Measure adds the measurement-error tables of the predictions against
	// a phantom manifest's ground truth (package measure/truth).
	Measure bool

	ToleranceMM float64 // NSD tolerance, mm
	Resamples   int     // bootstrap resamples; stats.DefaultResamples when 0
	Seed        uint64  // bootstrap seed
	Workers     int     // cases read and compared at once; 0 picks min(GOMAXPROCS, 4)

	// Read loads an image (imageio.Read in the command); injected so the
	// package can be tested on in-memory volumes.
	Read func(path string) (*volume.Volume, error)
	// Log receives one progress line per case; nil discards.
	Log io.Writer
}

// CaseRow is one row of cases.csv: a case, an ear and a structure.
type CaseRow struct {
	Case dataset.Case
	metrics.Row
}

// CaseEars records how each case was split into ears.
type CaseEars struct {
	CaseID string   `json:"case_id"`
	Ears   []string `json:"ears"`
	PlaneX *float64 `json:"plane_x_mm,omitempty"`
	Rule   string   `json:"rule"`
	split  metrics.Ears
}

// Result is everything Run computed.
type Result struct {
	Rows    []CaseRow
	Ears    []CaseEars
	Summary *Summary

	autoSeconds []float64 // automated seconds of the evaluated cases, for the time plot
	// simulatedManual is set when some manual times are simulated (phantom
	// cohorts); plots and captions then say so.
	simulatedManual bool
	// spacing is each case's reference voxel spacing (mm), for the cohort table.
	spacing map[string][3]float64
	// worst are the lowest-Dice ears with their agreement maps (PNG), drawn
	// by drawWorst in a second read of those cases only.
	worst []worstEar
	// qc and measures are the report's QC and measurement sections; nil
	// when the sidecars hold no QC signals, or without cfg.Measure.
	qc       *qcSection
	measures *measureSection
}

// Run evaluates every case of the manifest that has a reference label and
// writes the report into cfg.OutDir. Missing predictions are an error that
// lists them all; nothing is written then. A case with only a sidecar
// DIR/<case_id>.json (otoseg segment found no ear) is an empty prediction.
//
// The stages: plan (manifest, predictions, times, ratings), evaluate every
// case, summarise, picture the worst ears (a second read of their volumes,
// with the CT), QC and measurement errors (their own files), write
// (report.html last).
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Read == nil {
		return nil, errors.New("evaluate: no image reader configured")
	}
	if cfg.OutDir == "" {
		return nil, errors.New("evaluate: no output directory")
	}
	pl, err := planRun(cfg)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("report directory: %w", err)
	}
	per, err := evaluateAll(ctx, cfg, pl.cases, pl.preds)
	if err != nil {
		return nil, err
	}
	res := collect(pl.cases, per)
	an := analysis{cfg: cfg, cases: pl.cases, rows: res.Rows, auto: pl.auto, timeSource: pl.timeSource,
		ratings: pl.ratings, skipped: pl.skipped, meta: pl.meta, ears: res.Ears, spacing: res.spacing}
	if res.Summary, err = an.summarize(); err != nil {
		return nil, err
	}
	res.Summary.EmptyFromSidecar = nonNil(pl.noLabelMap)
	res.Summary.Ears = res.Ears
	for _, c := range pl.cases {
		if s, ok := pl.auto[c.ID]; ok {
			res.autoSeconds = append(res.autoSeconds, s)
		}
	}
	res.simulatedManual = res.Summary.Time != nil && res.Summary.Time.ManualSimulated > 0
	if err := res.drawWorst(ctx, cfg, pl.preds); err != nil {
		return nil, err
	}
	if err := qcAndMeasures(cfg, res); err != nil {
		return nil, err
	}
	if err := writeOutputs(cfg.OutDir, res); err != nil {
		return nil, err
	}
	return res, nil
}

// runPlan is what Run checks before reading any image.
type runPlan struct {
	cases      []dataset.Case
	preds      map[string]string // case id -> prediction file; "" = sidecar only
	skipped    []string          // no reference label
	noLabelMap []string          // sidecar without label map: empty prediction
	auto       map[string]float64
	timeSource string
	ratings    []Rating
	meta       map[string]caseMeta
}

// planRun reads the manifest (or makes the one-pair cohort), finds every
// prediction and reads the times and ratings, so that a missing file stops
// the run before any output is written.
func planRun(cfg Config) (*runPlan, error) {
	m, err := cohortOf(cfg)
	if err != nil {
		return nil, err
	}
	pl := &runPlan{preds: map[string]string{}}
	if pl.meta, err = readCaseMeta(m); err != nil {
		return nil, err
	}
	var missing []string
	for _, c := range m.Cases {
		if c.Label == "" {
			pl.skipped = append(pl.skipped, c.ID)
			continue
		}
		if cfg.RefFile != "" {
			pl.preds[c.ID] = cfg.PredFile
			pl.cases = append(pl.cases, c)
			continue
		}
		p, err := FindPrediction(cfg.PredDir, c.ID)
		if err != nil {
			// `otoseg segment` writes only the sidecar when it finds no
			// inner ear: that case is an empty prediction, not a missing one.
			if st, serr := os.Stat(filepath.Join(cfg.PredDir, c.ID+".json")); serr == nil && !st.IsDir() {
				pl.noLabelMap = append(pl.noLabelMap, c.ID)
				pl.preds[c.ID] = ""
				pl.cases = append(pl.cases, c)
				continue
			}
			missing = append(missing, c.ID)
			continue
		}
		pl.preds[c.ID] = p
		pl.cases = append(pl.cases, c)
	}
	if len(missing) > 0 {
		show := missing
		if len(show) > 10 {
			show = append(show[:10:10], fmt.Sprintf("... (%d in all)", len(missing)))
		}
		return nil, fmt.Errorf("no prediction in %s for %d case(s): %s (looked for <case_id> with %s)",
			cfg.PredDir, len(missing), strings.Join(show, ", "), strings.Join(PredictionExtensions, ", "))
	}
	if len(pl.cases) == 0 {
		return nil, fmt.Errorf("manifest %s: no case has a reference label", cfg.Manifest)
	}
	if pl.auto, pl.timeSource, err = automatedTimes(cfg, pl.cases); err != nil {
		return nil, err
	}
	if cfg.Ratings != "" {
		if pl.ratings, err = ReadRatings(cfg.Ratings); err != nil {
			return nil, err
		}
	}
	return pl, nil
}

// collect turns the per-case results into the rows and ear records.
func collect(cases []dataset.Case, per []caseEval) *Result {
	res := &Result{spacing: map[string][3]float64{}}
	for i, c := range cases {
		r := per[i].result
		res.spacing[c.ID] = per[i].spacing
		e := CaseEars{CaseID: c.ID, Ears: r.Ears.Present, Rule: r.Ears.Rule, split: r.Ears}
		if e.Ears == nil {
			e.Ears = []string{}
		}
		if r.Ears.Split {
			x := r.Ears.PlaneX
			e.PlaneX = &x
		}
		res.Ears = append(res.Ears, e)
		for _, row := range r.Rows {
			res.Rows = append(res.Rows, CaseRow{Case: c, Row: row})
		}
	}
	return res
}

// cohortOf reads the manifest, or makes a one-case cohort for a pair.
func cohortOf(cfg Config) (*dataset.Manifest, error) {
	switch {
	case cfg.RefFile != "" && cfg.Manifest != "":
		return nil, errors.New("give a manifest or a reference file, not both")
	case cfg.RefFile != "":
		if cfg.PredFile == "" {
			return nil, errors.New("a reference file needs a prediction file")
		}
		for _, p := range []string{cfg.RefFile, cfg.PredFile} {
			if _, err := os.Stat(p); err != nil {
				return nil, err
			}
		}
		return &dataset.Manifest{Cases: []dataset.Case{{ID: imageStem(cfg.RefFile), Label: cfg.RefFile}}}, nil
	}
	return dataset.ReadAny(cfg.Manifest)
}

// imageStem is a file name without directory and image extension.
func imageStem(p string) string {
	b := filepath.Base(p)
	for _, ext := range PredictionExtensions {
		if strings.HasSuffix(strings.ToLower(b), ext) {
			return b[:len(b)-len(ext)]
		}
	}
	return strings.TrimSuffix(b, filepath.Ext(b))
}

// automatedTimes reads the times CSV, or else the prediction sidecars.
func automatedTimes(cfg Config, cases []dataset.Case) (map[string]float64, string, error) {
	if cfg.Times != "" {
		t, err := ReadTimes(cfg.Times)
		if err != nil {
			return nil, "", err
		}
		return t, "times file " + filepath.Base(cfg.Times), nil
	}
	t := map[string]float64{}
	if cfg.RefFile != "" {
		return t, "", nil
	}
	for _, c := range cases {
		s, ok, err := ReadSidecar(filepath.Join(cfg.PredDir, c.ID+".json"))
		if err != nil {
			return nil, "", err
		}
		if ok {
			t[c.ID] = s
		}
	}
	if len(t) == 0 {
		return t, "", nil
	}
	return t, "segmentation sidecars <case_id>.json", nil
}

// caseEval is one case's comparison and the spacing of its reference grid
// (for the cohort table).
type caseEval struct {
	result  *metrics.CaseResult
	spacing [3]float64
}

// evaluateAll reads and compares the cases with a few workers; results keep
// manifest order. The first error (naming the case and file) stops the run.
func evaluateAll(ctx context.Context, cfg Config, cases []dataset.Case, preds map[string]string) ([]caseEval, error) {
	workers := cfg.Workers
	if workers <= 0 {
		workers = min(runtime.GOMAXPROCS(0), 4)
	}
	out := make([]caseEval, len(cases))
	errs := make([]error, len(cases))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var wg sync.WaitGroup
	var logMu sync.Mutex
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c := cases[i]
				ref, pred, err := readPair(cfg, c, preds[c.ID])
				if err != nil {
					errs[i] = err
					cancel()
					continue
				}
				r, err := metrics.Evaluate(ref, pred, metrics.Options{ToleranceMM: cfg.ToleranceMM})
				if err != nil {
					errs[i] = fmt.Errorf("case %s (%s vs %s): %w", c.ID, cmp.Or(preds[c.ID], "(no label map, empty prediction)"), c.Label, err)
					cancel()
					continue
				}
				out[i] = caseEval{result: r, spacing: ref.Spacing}
				if cfg.Log != nil {
					logMu.Lock()
					lab := r.Rows[len(metrics.Structures)-1]
					fmt.Fprintf(cfg.Log, "%s: labyrinth dice %.4f (%s)\n", c.ID, lab.Dice, strings.Join(append([]string{"both"}, r.Ears.Present...), ", "))
					logMu.Unlock()
				}
			}
		}()
	}
feed:
	for i := range cases {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	for i, r := range out {
		if r.result == nil {
			return nil, fmt.Errorf("case %s: not evaluated: %w", cases[i].ID, context.Cause(ctx))
		}
	}
	return out, nil
}

// readPair reads a case's reference and prediction; an empty predPath (a
// sidecar without label map) is an empty prediction on the reference grid.
func readPair(cfg Config, c dataset.Case, predPath string) (ref, pred *volume.Volume, err error) {
	if ref, err = cfg.Read(c.Label); err != nil {
		return nil, nil, fmt.Errorf("case %s: reference: %w", c.ID, err)
	}
	if predPath == "" { // only a sidecar: segmentation found no ear
		return ref, volume.New(ref.Geometry, volume.Uint8), nil
	}
	if pred, err = cfg.Read(predPath); err != nil {
		return nil, nil, fmt.Errorf("case %s: prediction: %w", c.ID, err)
	}
	return ref, pred, nil
}
