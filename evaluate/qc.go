package evaluate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/otoseg/otoseg/measure/truth"
	"github.com/otoseg/otoseg/metrics"
	"github.com/otoseg/otoseg/qc"
)

// writeQCAndMeasures adds two sections to the report folder. QC: when the
// prediction sidecars hold otoseg segment's QC signals, how well the
// built-in QC score finds the ears of labyrinth Dice below 0.85 (AUROC,
// shares flagged, score against Dice: qc_report.md, qc_samples.json,
// qc_score_vs_dice.png). Measurements: with cfg.Measure and a phantom
// manifest (meta column), the measurement errors of the predictions
// against the ground truth (measure_errors.md, .csv, .json).
func writeQCAndMeasures(cfg Config, res *Result) error {
	if cfg.PredDir == "" || cfg.Manifest == "" {
		return nil
	}
	var samples []qc.Sample
	for _, r := range res.Rows {
		if r.Structure != "labyrinth" || r.Ear == metrics.EarBoth {
			continue
		}
		s := qc.Sample{Case: r.Case.ID, Centre: r.Case.Center, Side: r.Ear, Dice: r.Dice}
		sig, err := sidecarSignals(filepath.Join(cfg.PredDir, r.Case.ID+".json"), r.Ear)
		if err != nil {
			return err
		}
		s.Signals = sig
		samples = append(samples, s)
	}
	withSignals := 0
	for _, s := range samples {
		if s.Signals != nil {
			withSignals++
		}
	}
	if withSignals > 0 {
		m, err := qc.Default()
		if err != nil {
			return err
		}
		ev := qc.Evaluate(m, samples)
		if err := qc.WriteReport(cfg.OutDir, "QC score against labyrinth Dice", ev, samples); err != nil {
			return err
		}
	}
	if cfg.Measure {
		if _, err := truth.Run(cfg.Manifest, truth.Options{Pred: cfg.PredDir}, cfg.OutDir, "measurement errors of the predictions", io.Discard); err != nil {
			return fmt.Errorf("measurement errors: %w", err)
		}
	}
	return nil
}

// sidecarSignals reads the QC signals of side's ear from otoseg
// segment's sidecar; nil when the sidecar or the ear has none.
func sidecarSignals(path, side string) (*qc.Signals, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var sc struct {
		Ears []struct {
			Side    string      `json:"side"`
			Signals *qc.Signals `json:"qc_signals"`
		} `json:"ears"`
	}
	if err := json.Unmarshal(b, &sc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, e := range sc.Ears {
		if e.Side == side {
			return e.Signals, nil
		}
	}
	return nil, nil
}
