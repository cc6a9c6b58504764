package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/otoseg/otoseg/internal/safeout"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/otoseg/otoseg/phantom"
)

// phantomOptions are the flags of `otoseg phantom`.
type phantomOptions struct {
	Out          string
	Cases        int
	Seed         uint64
	Centres      string
	Pathological float64
	Pathology    string
	Body         string
	VaryScanner  bool
	Anatomy      string
	Sites        string
	PrintCentres bool
	Workers      int
	Quiet        bool
}

func newPhantomCmd() *cobra.Command {
	o := &phantomOptions{}
	cmd := &cobra.Command{
		Use:   "phantom --out DIR --cases N --seed S [--centers LIST] [--pathological FRACTION]",
		Short: "generate synthetic temporal-bone CT phantoms with exact inner-ear labels",
		Long: `phantom writes a multicentre cohort of synthetic temporal-bone CT volumes
with exact labels (1 cochlea, 2 vestibule, 3 semicircular canals):

  DIR/images/<id>.nii.gz   int16 HU
  DIR/labels/<id>.nii.gz   uint8 labels on the same grid
  DIR/meta/<id>.json       ground truth: ear centres (world LPS mm), A value,
                           turns, canal radii, pathology and severity, protocol
  DIR/manifest.csv         case_id,image,label,center,split,subgroup,pathology,
                           spacing_mm,manual_seconds,ears,severity,body,meta

Cases go round the centres in order. Training centres' cases are split
train/validation (one in four validates); the external centre's cases are
"external". manual_seconds is simulated, not measured.

Centres:
` + centreHelp() + `
Pathologies: ` + strings.Join(phantom.Pathologies, ", ") + `

The same flags and seed give the same bytes, whatever the number of workers.
--vary-scanner draws every case's scanner around its centre's (kernel
sharpness x0.75-2, noise, HU calibration, rotation, artefacts): a training
cohort of few centres then covers scanners none of them has.
--anatomy shifted draws labyrinths from the tails of the adult population
and beyond it (very large or small, flattened canals, unusual turns, extreme
canal calibres, stronger bending): a held-out shape test that models are
never trained on. The default, normal, follows the published morphometry
(docs/phantom.md).
--body other writes CTs of an abdomen-like body part with empty labels,
for testing that no ear is found where there is none.

--sites FILE replaces the built-in centres with scanners of your own: a JSON
array of centre profiles. --print-centres writes the built-in ones in that
format, to start from; every case's meta JSON records its scanner the same
way. A profile per kernel or per calibration, same seed, shows what each
costs the model (see scripts/centre-ablation.sh).`,
		Example: `  otoseg phantom --out cohort --cases 30 --seed 2027 --pathological 0.5
  otoseg phantom --out train --cases 64 --centers A,B,C,D --vary-scanner
  otoseg phantom --out heldout --cases 30 --anatomy shifted --pathological 0
  otoseg phantom --print-centres > sites.json   # edit, then:
  otoseg phantom --out mine --cases 8 --sites sites.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPhantom(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Out, "out", "o", "", "output directory (required)")
	f.IntVar(&o.Cases, "cases", 20, "number of cases")
	f.Uint64Var(&o.Seed, "seed", 1, "random seed")
	f.StringVar(&o.Centres, "centers", "", "comma-separated centres to use, in order (default all: A,B,C,D,E)")
	f.StringVar(&o.Centres, "centres", "", "alias of --centers")
	f.Float64Var(&o.Pathological, "pathological", 0.3, "fraction of pathological cases (0..1)")
	f.StringVar(&o.Pathology, "pathology", "", "give every pathological case this pathology (default: cycle through all)")
	f.StringVar(&o.Body, "body", phantom.BodyHead, "head (temporal bones) or other (no inner ear)")
	f.BoolVar(&o.VaryScanner, "vary-scanner", false, "draw each case's scanner around its centre's: kernel sharpness, dose, HU calibration, positioning and artefacts (for training cohorts; the meta JSON records each case's draw)")
	f.StringVar(&o.Anatomy, "anatomy", string(phantom.AnatomyNormal), "labyrinth population: normal (published adult morphometry) or shifted (tails and beyond, for held-out tests)")
	f.StringVar(&o.Sites, "sites", "", "JSON file of custom centre profiles to use instead of the built-in centres (see --print-centres)")
	f.BoolVar(&o.PrintCentres, "print-centres", false, "write the built-in centres as a JSON sites file to stdout and exit")
	f.BoolVar(&o.PrintCentres, "print-centers", false, "alias of --print-centres")
	f.IntVar(&o.Workers, "workers", 0, "goroutines per case (0: all cores); does not change the output")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "no progress bar")
	return cmd
}

func centreHelp() string {
	var b strings.Builder
	for _, c := range phantom.Centres {
		ext := ""
		if c.External {
			ext = " [external]"
		}
		fmt.Fprintf(&b, "  %s  %s%s\n", c.Name, c.Protocol, ext)
	}
	return b.String()
}

// runPhantom generates the cohort that o describes.
func runPhantom(ctx context.Context, o *phantomOptions, stdout, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if o.PrintCentres {
		js, err := json.MarshalIndent(phantom.Centres, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", js)
		return err
	}
	switch {
	case o.Out == "":
		return usagef("-o/--out DIR is required")
	case o.Cases < 1 || o.Cases > 100000:
		return usagef("--cases %d: want 1 to 100000", o.Cases)
	case !(o.Pathological >= 0 && o.Pathological <= 1):
		return usagef("--pathological %g: want a fraction in [0, 1]", o.Pathological)
	case o.Workers < 0:
		return usagef("--workers %d: want 0 (all cores) or more", o.Workers)
	}
	var centres []string
	if strings.TrimSpace(o.Centres) != "" {
		centres = strings.Split(o.Centres, ",")
	}
	var sites []phantom.Centre
	if o.Sites != "" {
		if centres != nil {
			return usagef("give --centers or --sites, not both")
		}
		var err error
		if sites, err = phantom.ReadSites(o.Sites); err != nil {
			return fmt.Errorf("phantom: --sites: %w", err)
		}
	}
	opt := phantom.CohortOptions{Cases: o.Cases, Seed: o.Seed, Centres: centres, Sites: sites,
		Pathological: o.Pathological, Pathology: o.Pathology, Body: o.Body, VaryScanner: o.VaryScanner, Anatomy: phantom.Anatomy(o.Anatomy), Workers: o.Workers}
	if err := phantom.ValidAnatomy(opt.Anatomy); err != nil {
		return usagef("--anatomy: %w", err)
	}
	if _, err := phantom.Plan(opt); err != nil {
		return usageError{err}
	}
	if err := safeout.Dir(o.Out, o.Sites); err != nil {
		return usageError{err}
	}
	var bar *progressbar.ProgressBar
	if !o.Quiet {
		bar = progressbar.NewOptions(o.Cases,
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("phantoms"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }),
		)
	}
	rows, err := phantom.Cohort(ctx, o.Out, opt, func(done, total int) {
		if bar != nil {
			bar.Set(done)
		}
	})
	if err != nil {
		return fmt.Errorf("phantom: %w", err)
	}
	var path int
	for _, r := range rows {
		if r.Subgroup == "pathological" {
			path++
		}
	}
	fmt.Fprintf(stderr, "wrote %d cases (%d pathological) to %s\n", len(rows), path, o.Out)
	return nil
}
