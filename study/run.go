// Package study runs the validation study of otoseg on a cohort: it compares
// predicted label maps with the manifest's references (package metrics),
// summarises the metrics per stratum with confidence intervals and tests
// (package stats), compares automated with manual processing time, analyses
// the readers' Likert ratings, and writes cases.csv, summary.json, the plots
// and a self-contained report.html.
//
// Everything is deterministic: cases are processed in manifest order, the
// bootstrap is seeded, and the report carries no clock time, so rerunning
// on the same inputs gives identical files.
package study

import (
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
	// pictures holds each case's per-ear agreement maps (PNG), made while
	// the volumes were in memory; the report shows the worst ears.
	pictures map[string]map[string][]byte
}

// Run evaluates every case of the manifest that has a reference label and
// writes the report into cfg.OutDir. Missing predictions are an error that
// lists them all; nothing is written then. A case with only a sidecar
// DIR/<case_id>.json (otoseg segment found no ear) is an empty prediction.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Read == nil {
		return nil, errors.New("study: no image reader configured")
	}
	if cfg.OutDir == "" {
		return nil, errors.New("study: no output directory")
	}
	m, err := cohortOf(cfg)
	if err != nil {
		return nil, err
	}
	var cases []dataset.Case
	var skipped []string
	var missing, noLabelMap []string
	preds := map[string]string{}
	for _, c := range m.Cases {
		if c.Label == "" {
			skipped = append(skipped, c.ID)
			continue
		}
		if cfg.RefFile != "" {
			preds[c.ID] = cfg.PredFile
			cases = append(cases, c)
			continue
		}
		p, err := FindPrediction(cfg.PredDir, c.ID)
		if err != nil {
			// `otoseg segment` writes only the sidecar when it finds no
			// inner ear: that case is an empty prediction, not a missing one.
			if st, serr := os.Stat(filepath.Join(cfg.PredDir, c.ID+".json")); serr == nil && !st.IsDir() {
				noLabelMap = append(noLabelMap, c.ID)
				preds[c.ID] = ""
				cases = append(cases, c)
				continue
			}
			missing = append(missing, c.ID)
			continue
		}
		preds[c.ID] = p
		cases = append(cases, c)
	}
	if len(missing) > 0 {
		show := missing
		if len(show) > 10 {
			show = append(show[:10:10], fmt.Sprintf("... (%d in all)", len(missing)))
		}
		return nil, fmt.Errorf("no prediction in %s for %d case(s): %s (looked for <case_id> with %s)",
			cfg.PredDir, len(missing), strings.Join(show, ", "), strings.Join(PredictionExtensions, ", "))
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("manifest %s: no case has a reference label", cfg.Manifest)
	}
	auto, timeSource, err := automatedTimes(cfg, cases)
	if err != nil {
		return nil, err
	}
	var ratings []Rating
	if cfg.Ratings != "" {
		if ratings, err = ReadRatings(cfg.Ratings); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("report directory: %w", err)
	}

	per, pics, err := evaluateAll(ctx, cfg, cases, preds)
	if err != nil {
		return nil, err
	}
	res := &Result{pictures: map[string]map[string][]byte{}}
	for i, c := range cases {
		res.pictures[c.ID] = pics[i]
		e := CaseEars{CaseID: c.ID, Ears: per[i].Ears.Present, Rule: per[i].Ears.Rule, split: per[i].Ears}
		if e.Ears == nil {
			e.Ears = []string{}
		}
		if per[i].Ears.Split {
			x := per[i].Ears.PlaneX
			e.PlaneX = &x
		}
		res.Ears = append(res.Ears, e)
		for _, r := range per[i].Rows {
			res.Rows = append(res.Rows, CaseRow{Case: c, Row: r})
		}
	}
	an := analysis{cfg: cfg, cases: cases, rows: res.Rows, auto: auto, timeSource: timeSource, ratings: ratings, skipped: skipped}
	res.Summary, err = an.summarize()
	if err != nil {
		return nil, err
	}
	res.Summary.EmptyFromSidecar = nonNil(noLabelMap)
	res.Summary.Ears = res.Ears
	for _, c := range cases {
		if s, ok := auto[c.ID]; ok {
			res.autoSeconds = append(res.autoSeconds, s)
		}
	}
	if err := writeOutputs(cfg.OutDir, res); err != nil {
		return nil, err
	}
	return res, nil
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
	return dataset.Read(cfg.Manifest)
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

// evaluateAll reads and compares the cases with a few workers; results keep
// manifest order. The first error (naming the case and file) stops the run.
func evaluateAll(ctx context.Context, cfg Config, cases []dataset.Case, preds map[string]string) ([]*metrics.CaseResult, []map[string][]byte, error) {
	workers := cfg.Workers
	if workers <= 0 {
		workers = min(runtime.GOMAXPROCS(0), 4)
	}
	out := make([]*metrics.CaseResult, len(cases))
	pics := make([]map[string][]byte, len(cases))
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
				r, pic, err := evaluateCase(cfg, c, preds[c.ID])
				if err != nil {
					errs[i] = err
					cancel()
					continue
				}
				out[i], pics[i] = r, pic
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
			return nil, nil, err
		}
	}
	for i, r := range out {
		if r == nil {
			return nil, nil, fmt.Errorf("case %s: not evaluated: %w", cases[i].ID, context.Cause(ctx))
		}
	}
	return out, pics, nil
}

func evaluateCase(cfg Config, c dataset.Case, predPath string) (*metrics.CaseResult, map[string][]byte, error) {
	ref, err := cfg.Read(c.Label)
	if err != nil {
		return nil, nil, fmt.Errorf("case %s: reference: %w", c.ID, err)
	}
	var pred *volume.Volume
	if predPath == "" { // only a sidecar: segmentation found no ear
		pred = volume.New(ref.Geometry, volume.Uint8)
		predPath = "(no label map, empty prediction)"
	} else if pred, err = cfg.Read(predPath); err != nil {
		return nil, nil, fmt.Errorf("case %s: prediction: %w", c.ID, err)
	}
	r, err := metrics.Evaluate(ref, pred, metrics.Options{ToleranceMM: cfg.ToleranceMM})
	if err != nil {
		return nil, nil, fmt.Errorf("case %s (%s vs %s): %w", c.ID, predPath, c.Label, err)
	}
	return r, earPictures(ref, pred, r.Ears), nil
}
