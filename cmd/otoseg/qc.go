package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/otoseg/otoseg/internal/atomicfile"
	"github.com/otoseg/otoseg/qc"
)

func newQCCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "qc",
		Short: "calibrate and evaluate the per-ear quality-control score of otoseg segment",
		Long: `otoseg segment scores every ear it labels (qc.score in [0, 1], qc.flag "ok" or
"review", qc.reasons) from the network's uncertainty and the labyrinth's
anatomy. qc calibrate fits that score's weights and threshold on a cohort
segmented by otoseg segment against its reference labels; qc report measures
on another cohort how well the score finds the ears with labyrinth Dice
below 0.85 (AUROC, share flagged).

Examples:
  otoseg qc calibrate --manifest hard/manifest.csv --pred hard-pred -o qc/calibration.json
  otoseg qc report --manifest fresh/manifest.csv --pred fresh-pred -o qc-report`,
	}
	cmd.AddCommand(newQCCalibrateCmd(), newQCReportCmd())
	return cmd
}

func newQCCalibrateCmd() *cobra.Command {
	var manifest, pred []string
	var out, source string
	var sens, lambda float64
	cmd := &cobra.Command{
		Use:   "calibrate --manifest M --pred DIR -o calibration.json",
		Short: "fit the QC score on a segmented cohort with reference labels",
		Example: `  otoseg qc calibrate --manifest hard/manifest.csv --pred hard-pred -o qc/calibration.json
  otoseg qc calibrate --manifest hard/manifest.csv --pred hard-pred --manifest harsh/manifest.csv --pred harsh-pred -o cal.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if source == "" {
				source = fmt.Sprintf("%v segmented in %v", manifest, pred)
			}
			return runQCCalibrate(manifest, pred, out, source, sens, lambda, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&manifest, "manifest", nil, "cohort manifest with reference labels (required; repeat for several cohorts)")
	f.StringArrayVar(&pred, "pred", nil, "otoseg segment's output folder for the cohort (required; one per --manifest, in the same order)")
	f.StringVarP(&out, "out", "o", "", "calibration JSON to write (required)")
	f.Float64Var(&sens, "sensitivity", 0.9, "share of bad ears the threshold must flag on this cohort")
	f.Float64Var(&lambda, "l2", 1, "ridge penalty on the standardised weights")
	f.StringVar(&source, "source", "", "what the calibration was fitted on, recorded in the JSON (default: the paths)")
	for _, n := range []string{"manifest", "pred", "out"} {
		cmd.MarkFlagRequired(n)
	}
	return cmd
}

// collectCohorts pairs each manifest with its prediction folder, in the
// order given, and pools their ears.
func collectCohorts(manifests, preds []string) ([]qc.Sample, error) {
	if len(manifests) != len(preds) {
		return nil, usagef("%d --manifest but %d --pred: give one prediction folder per manifest, in the same order", len(manifests), len(preds))
	}
	var all []qc.Sample
	for i := range manifests {
		s, err := qc.Collect(manifests[i], preds[i])
		if err != nil {
			return nil, err
		}
		all = append(all, s...)
	}
	return all, nil
}

func runQCCalibrate(manifest, pred []string, out, source string, sens, lambda float64, w io.Writer) error {
	samples, err := collectCohorts(manifest, pred)
	if err != nil {
		return err
	}
	m, err := qc.Fit(samples, lambda, sens, source)
	if err != nil {
		return err
	}
	qc.PrintEvaluation(w, "calibration cohort (in-sample)", qc.Evaluate(m, samples))
	for i, n := range qc.FeatureNames {
		fmt.Fprintf(w, "  %-14s weight %+.3f (mean %.3f, sd %.3f)\n", n, m.Weights[i], m.Mean[i], m.SD[i])
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(out, append(b, '\n'))
}

func newQCReportCmd() *cobra.Command {
	var manifest, pred []string
	var out, model, title string
	cmd := &cobra.Command{
		Use:     "report --manifest M --pred DIR [-o DIR] [--model calibration.json]",
		Short:   "how well the QC score finds the bad segmentations of a cohort",
		Example: `  otoseg qc report --manifest fresh/manifest.csv --pred fresh-pred -o qc-report`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runQCReport(manifest, pred, out, model, title, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&manifest, "manifest", nil, "cohort manifest with reference labels (required; repeat for several cohorts)")
	f.StringArrayVar(&pred, "pred", nil, "otoseg segment's output folder for the cohort (required; one per --manifest, in the same order)")
	f.StringVarP(&out, "out", "o", "", "folder for qc_report.md, qc_samples.json, qc_score_vs_dice.png")
	f.StringVar(&model, "model", "", "calibration JSON (default: the built-in one)")
	f.StringVar(&title, "title", "QC on "+"the cohort", "title of the report")
	cmd.MarkFlagRequired("manifest")
	cmd.MarkFlagRequired("pred")
	return cmd
}

func runQCReport(manifest, pred []string, out, modelPath, title string, w io.Writer) error {
	read := qc.Default
	if modelPath != "" {
		read = func() (*qc.Model, error) { return qc.ReadModel(modelPath) }
	}
	m, err := read()
	if err != nil {
		return err
	}
	samples, err := collectCohorts(manifest, pred)
	if err != nil {
		return err
	}
	ev := qc.Evaluate(m, samples)
	qc.PrintEvaluation(w, title, ev)
	if out == "" {
		return nil
	}
	return qc.WriteReport(out, title, ev, samples)
}
