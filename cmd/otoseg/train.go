package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/otoseg/otoseg/internal/safeout"

	"github.com/spf13/cobra"

	"github.com/otoseg/otoseg/dataset"
	"github.com/otoseg/otoseg/train"
)

// trainFlags are the flags of `otoseg train` that are not fields of
// train.Options as they stand: lists and pairs parsed into it.
type trainFlags struct {
	manifest                          string
	features, locFeatures             string
	spacing, clip, blur, huCalib      string
	elasticP, elasticMag, elasticGrid float64
}

func newTrainCmd() *cobra.Command {
	o := train.DefaultOptions()
	var fl trainFlags
	cmd := &cobra.Command{
		Use:   "train --manifest M --out MODEL_DIR [--init BASELINE]",
		Short: "train the localiser and the inner-ear U-Net on a dataset manifest",
		Long: `Train plans the preprocessing from the training cases (split "train" of the
manifest), trains the ear localiser and the inner-ear U-Net, validates on the
"validation" cases after every epoch, and writes a model folder:

  plans.json              preprocessing and network plan (nnU-Net style)
  locator.safetensors     localiser weights
  segmenter.safetensors   segmentation weights
  training.csv, training.png   the training curves
  MODEL_CARD.md           data, recipe, metrics, checksums
  checkpoint*/            checkpoints; --resume continues from them

--init BASELINE fine-tunes an existing model: its plan is kept (so the data
are preprocessed as the baseline saw them) and its weights are the start.
Interrupt with Ctrl-C at any time and run again with --resume.`,
		Example: `  otoseg phantom --out cohort --cases 40 --seed 1
  otoseg train --manifest cohort/manifest.csv --out mymodel --epochs 40
  otoseg train --manifest site/manifest.csv --out tuned --init models/baseline --epochs 10 --lr 1e-3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if fl.manifest == "" || o.Out == "" {
				return usagef("--manifest and -o/--out are required")
			}
			if err := fl.apply(&o); err != nil {
				return usageError{err}
			}
			if err := safeout.Dir(o.Out, fl.manifest); err != nil {
				return usageError{err}
			}
			m, err := dataset.Read(fl.manifest)
			if err != nil {
				return err
			}
			o.Log = cmd.ErrOrStderr()
			_, err = train.Run(cmd.Context(), m, o)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.manifest, "manifest", "", "dataset manifest (CSV; see 'otoseg phantom')")
	f.StringVarP(&o.Out, "out", "o", "", "model folder to write")
	f.StringVar(&o.Init, "init", "", "model folder to fine-tune from (keeps its plan)")
	f.IntVar(&o.Epochs, "epochs", o.Epochs, "segmenter epochs")
	f.IntVar(&o.Steps, "steps", o.Steps, "segmenter steps (batches) per epoch")
	f.IntVar(&o.Batch, "batch", o.Batch, "patches per batch")
	f.IntVar(&o.LocatorEpochs, "locator-epochs", o.LocatorEpochs, "localiser epochs (0 keeps --init's localiser)")
	f.IntVar(&o.LocatorSteps, "locator-steps", o.LocatorSteps, "localiser steps per epoch")
	f.StringVar(&o.Optimizer, "optimizer", o.Optimizer, "adamw (default: converges in the short CPU schedules otoseg uses) or sgd (nnU-Net: Nesterov, momentum 0.99)")
	f.Float64Var(&o.LR, "lr", 0, "initial learning rate (default 1e-2 for sgd, 2e-3 for adamw)")
	f.StringVar(&fl.features, "features", "16,32,64,128", "segmenter features per stage")
	f.StringVar(&fl.locFeatures, "locator-features", "8,16,32,64", "localiser features per stage")
	f.Uint64Var(&o.Seed, "seed", o.Seed, "random seed (initialisation, patches, augmentation)")
	f.IntVar(&o.Negatives, "negatives", o.Negatives, "scans without an inner ear (phantoms of another body part and blank volumes) added to the localiser's training")
	f.IntVar(&o.ValEvery, "val-every", 1, "validate after every N-th epoch and after the last (validation only measures: the weights are the same for any N; 21 validation ears take 18-20 s, an epoch's 110 steps at 64^3 73-74 s)")
	f.BoolVar(&o.Resume, "resume", false, "continue from the checkpoints in --out")
	f.StringVar(&fl.blur, "blur", "0.5,1", "segmenter augmentation: range of the Gaussian blur's sigma, in voxels of the target grid (nnU-Net: 0.5,1); widen it for scanners with smoother kernels than the training centres")
	f.Float64Var(&o.Augment.PBlur, "blur-p", o.Augment.PBlur, "segmenter augmentation: probability of the blur (nnU-Net: 0.2)")
	f.Float64Var(&o.Augment.LowResLo, "lowres-min", o.Augment.LowResLo, "segmenter augmentation: the simulated low-resolution scan is down to this fraction of the target grid per axis (nnU-Net: 0.5)")
	f.Float64Var(&fl.elasticP, "elastic", 0, "segmenter augmentation: probability that a patch is elastically deformed by a smooth random displacement field, so the network sees labyrinths bent differently from every training ear (nnU-Net: off; default: off), e.g. 0.2")
	f.Float64Var(&fl.elasticMag, "elastic-mag", 1, "with --elastic: the largest displacement, in mm; typical voxels move a quarter of it. The default 1 mm is a canal's diameter, the size of the shape differences between ears")
	f.Float64Var(&fl.elasticGrid, "elastic-grid", 6, "with --elastic: control-point spacing of the field, in mm: bends are about this long. The default 6 mm, a third of the ~19 mm patch (64 voxels of 0.3 mm), bends whole canals and cochlear turns, not their walls")
	f.StringVar(&fl.huCalib, "hu-calibration", "", "segmenter augmentation: OFFSET,GAIN simulates other scanners' HU calibration in 30% of patches, stored HU = HU x (1 +- GAIN) + (+- OFFSET), e.g. 50,0.1 (default: off)")
	f.StringVar(&fl.spacing, "spacing", "", "override the planned target spacing, x,y,z mm (the patch size is re-derived for it)")
	f.StringVar(&fl.clip, "intensity-clip", "", "override the planned CT intensity clip, LOW,HIGH HU (z-score kept), e.g. -500,3000. The plan clips at the labyrinth's 0.5 percentile and at the larger of its 99.5 percentile and 2500 HU: nnU-Net's 99.5 percentile alone, about 1250 HU here, flattens canals that a smooth kernel has filled in to bone-like HU")
	return cmd
}

// apply parses the list and pair flags into o; train.Options.Check judges
// the values.
func (fl trainFlags) apply(o *train.Options) error {
	var err error
	if o.Features, err = parseInts(fl.features); err != nil {
		return fmt.Errorf("train: --features: %w", err)
	}
	if o.LocatorFeatures, err = parseInts(fl.locFeatures); err != nil {
		return fmt.Errorf("train: --locator-features: %w", err)
	}
	var ok bool
	if o.Augment.BlurLo, o.Augment.BlurHi, ok = parsePair(fl.blur); !ok {
		return fmt.Errorf("train: --blur %q: want LO,HI voxels", fl.blur)
	}
	if fl.huCalib != "" {
		// The plan's HU statistics are filled in by train.Run.
		o.Augment.PCalib = 0.3
		if o.Augment.CalibOffset, o.Augment.CalibGain, ok = parsePair(fl.huCalib); !ok {
			return fmt.Errorf("train: --hu-calibration %q: want OFFSET,GAIN", fl.huCalib)
		}
	}
	// Without --elastic nothing reaches the patcher, so recipes without it
	// cut the same patches as before it existed.
	if fl.elasticP != 0 {
		o.Augment.PElastic, o.Augment.ElasticMagMM, o.Augment.ElasticGridMM = fl.elasticP, fl.elasticMag, fl.elasticGrid
	}
	if fl.spacing != "" {
		if o.Spacing, err = parseSpacing(fl.spacing); err != nil {
			return err
		}
	}
	if fl.clip != "" {
		if o.ClipLow, o.ClipHigh, ok = parsePair(fl.clip); !ok || !(o.ClipLow < o.ClipHigh) {
			return fmt.Errorf("train: --intensity-clip %q: want LOW,HIGH HU with LOW < HIGH", fl.clip)
		}
	}
	return o.Check()
}

// parsePair reads "X,Y" (spaces allowed) as two numbers.
func parsePair(s string) (x, y float64, ok bool) {
	a, b, found := strings.Cut(s, ",")
	if !found {
		return 0, 0, false
	}
	x, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	y, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
	return x, y, err1 == nil && err2 == nil
}

// parseInts reads "a,b,c" as positive integers.
func parseInts(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a list of positive integers", s)
		}
		out = append(out, n)
	}
	return out, nil
}
