package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/otoseg/otoseg/internal/safeout"

	"github.com/spf13/cobra"

	"github.com/otoseg/otoseg/evaluate"
	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/metrics"
)

// evaluateOptions are the flags of `otoseg evaluate`.
type evaluateOptions struct {
	Manifest    string
	Ref         string
	PredDir     string
	OutDir      string
	Times       string
	Ratings     string
	ToleranceMM float64
	Resamples   int
	Seed        uint64
	Workers     int
	Quiet       bool
}

func newEvaluateCmd() *cobra.Command {
	opts := evaluateOptions{}
	cmd := &cobra.Command{
		Use:   "evaluate (--manifest M --pred DIR | --ref REF --pred PRED) --out REPORT_DIR [--times T.csv] [--ratings R.csv] [--tolerance MM]",
		Short: "compare predicted label maps with the references and write the validation report",
		Long: `evaluate compares every prediction DIR/<case_id>.<ext> (.nii.gz, .nii, .seg.nrrd,
.nrrd, .nhdr, .mha, .mhd) with the reference label of the manifest, per case,
per ear (left, right, and "both" = the whole volume) and per structure
(cochlea = 1, vestibule = 2, canals = 3, labyrinth = labels > 0), and writes
into REPORT_DIR:

  cases.csv     one row per case, ear and structure: Dice, IoU, sensitivity,
                precision, HD, HD95, ASSD (mm), NSD, volumes, stray pieces
                (predicted pieces > 3 mm from the reference); NA = undefined
  summary.json  cohort table, statistics per structure and stratum (split,
                cohort, centre, subgroup, pathology) with bootstrap CIs,
                volume agreement (ICC, correlations, Bland-Altman), failed
                ears, stray pieces, tests with Holm-adjusted p, time and
                Likert results (kappas with CIs)
  *.png, *.svg  the plots
  report.html   a self-contained report (plots and pictures embedded)

The manifest (--manifest) is a CSV with a header. Paths are relative to its
folder. Only three columns are required, in any order:

  case_id     letters, digits, '.', '-', '_' (the prediction's file name)
  image       the CT (may be empty: the pictures of the worst ears are then
              drawn without CT underneath)
  label       the reference label map (empty: the case is skipped, listed)

Optional columns, in any order (missing ones read "(none)" in the strata):

  center                    site
  split                     train, validation or external
  subgroup                  normal or pathological
  pathology                 free text
  manual_seconds            manual segmentation time (0 or empty: unknown)
  manual_seconds_simulated  true if those times are simulated, not measured;
                            the report then says "simulated" beside them
  scanner                   scanner or protocol, for the cohort table
  spacing_mm                kept as written (the report measures spacings)
  meta                      an otoseg phantom meta JSON: its protocol and
                            manual_seconds_simulated are used

The manifest otoseg phantom writes (case_id,image,label,center,split,
subgroup,pathology,spacing_mm,manual_seconds,ears,severity,body,meta) is
such a file; its manual times are marked simulated through the meta column.
A minimal example:

  case_id,image,label
  ear01,ct/ear01.nii.gz,labels/ear01.nii.gz

Automated times come from --times (case_id,seconds) or from the sidecars
DIR/<case_id>.json ("seconds") written by otoseg segment. --ratings is the
review app's CSV (case_id,reader,likert,comment,seconds_spent,rated_at).
Definitions are in docs/evaluate.md and in the report.

With --ref REF instead of --manifest, --pred is one predicted label map and
the same outputs are written for that single pair.`,
		Example: `  otoseg segment cohort/images -o cohort/pred
  otoseg evaluate --manifest cohort/manifest.csv --pred cohort/pred -o report
  otoseg evaluate --ref labels/ear01.nii.gz --pred pred/ear01.nii.gz -o report-ear01`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runEvaluate(cmd, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Manifest, "manifest", "", "manifest CSV: case_id,image,label required; center,split,subgroup,pathology,manual_seconds,manual_seconds_simulated,scanner optional (see above)")
	f.StringVar(&opts.Ref, "ref", "", "one reference label map, instead of --manifest (then --pred is one file)")
	f.StringVar(&opts.PredDir, "pred", "", "directory of predicted label maps named <case_id>.<ext> (a file with --ref) (required)")
	f.StringVarP(&opts.OutDir, "out", "o", "", "report directory, created if needed (required)")
	f.StringVar(&opts.Times, "times", "", "CSV case_id,seconds of automated processing time (default: DIR/<case_id>.json sidecars)")
	f.StringVar(&opts.Ratings, "ratings", "", "CSV of Likert ratings from the review app")
	f.Float64Var(&opts.ToleranceMM, "tolerance", metrics.DefaultToleranceMM, "NSD (surface Dice) tolerance in mm")
	f.IntVar(&opts.Resamples, "bootstrap", 2000, "bootstrap resamples for the 95% confidence intervals")
	f.Uint64Var(&opts.Seed, "seed", 1, "bootstrap seed")
	f.IntVar(&opts.Workers, "workers", 0, "cases evaluated at once (0: min(CPUs, 4))")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "do not print a line per case")
	return cmd
}

func runEvaluate(cmd *cobra.Command, opts evaluateOptions) error {
	switch {
	case (opts.Manifest == "") == (opts.Ref == ""):
		return usagef("give one of --manifest (a cohort) or --ref (one reference label map)")
	case opts.PredDir == "":
		return usagef("--pred is required")
	case opts.OutDir == "":
		return usagef("-o/--out REPORT_DIR is required")
	case opts.Resamples < 1:
		return usagef("--bootstrap %d: want at least 1", opts.Resamples)
	case !(opts.ToleranceMM >= 0) || opts.ToleranceMM > 100:
		return usagef("--tolerance %g: want a distance of 0 to 100 mm", opts.ToleranceMM)
	case opts.Workers < 0:
		return usagef("--workers %d: want 0 (automatic) or more", opts.Workers)
	}
	if err := safeout.Dir(opts.OutDir, opts.PredDir); err != nil {
		return usageError{err}
	}
	var log io.Writer = cmd.ErrOrStderr()
	if opts.Quiet {
		log = nil
	}
	cfg := evaluate.Config{
		Manifest: opts.Manifest, PredDir: opts.PredDir, OutDir: opts.OutDir,
		Times: opts.Times, Ratings: opts.Ratings, ToleranceMM: opts.ToleranceMM,
		Resamples: opts.Resamples, Seed: opts.Seed, Workers: opts.Workers,
		Read: imageio.Read, Log: log,
	}
	if opts.Ref != "" {
		cfg.RefFile, cfg.PredFile, cfg.PredDir = opts.Ref, opts.PredDir, ""
	}
	res, err := evaluate.Run(cmd.Context(), cfg)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	s := res.Summary
	for _, m := range s.Metrics {
		if m.Level == "ear" && m.Structure == "labyrinth" && m.Metric == "dice" && m.Stratum == "all" {
			fmt.Fprintf(out, "labyrinth Dice per ear: median %.4f [IQR %.4f-%.4f], mean %.4f (95%% CI %.4f-%.4f), n=%d\n",
				m.Median, m.Q1, m.Q3, m.Mean, m.CILow, m.CIHigh, m.N)
		}
	}
	if len(s.Flags) > 0 {
		fmt.Fprintf(out, "%d row(s) with an empty reference or prediction (see summary.json flags)\n", len(s.Flags))
	}
	fmt.Fprintf(out, "%d cases; wrote %s\n", s.CasesEvaluated, filepath.Join(opts.OutDir, "report.html"))
	return nil
}
