package train

import (
	"fmt"
	"io"
	"math"
)

// Options is a whole training recipe: what train.Run needs besides the
// manifest. The zero value is not useful; start from DefaultOptions, the
// recipe `otoseg train` runs without flags.
type Options struct {
	// Out is the model folder to write; its checkpoint-* folders let a run
	// continue (Resume).
	Out string
	// Init, when set, is a model folder to fine-tune: its plan is kept, so
	// the data are preprocessed as the baseline saw them, and its weights
	// are the start.
	Init string
	// Segmenter and localiser schedules.
	Epochs, Steps               int
	LocatorEpochs, LocatorSteps int
	Batch                       int
	// Optimizer is "adamw" or "sgd"; LR 0 picks 2e-3 for adamw, 1e-2 for
	// sgd.
	Optimizer string
	LR        float64
	// Features per stage of the segmenter and the localiser (new plans
	// only; fine-tuning keeps the baseline's networks).
	Features, LocatorFeatures []int
	Seed                      uint64
	// Negatives is the number of scans without an inner ear added to the
	// localiser's training (abdomen and limb phantoms, blank volumes), so
	// that it learns to say "none".
	Negatives int
	// ValEvery validates both networks after every ValEvery-th epoch and
	// after their last (0 or 1: every epoch); see FitOptions.ValEvery.
	ValEvery int
	Resume   bool
	// Spacing, when non-zero, overrides the planned target spacing (the
	// patch is re-derived for it); ClipLow < ClipHigh overrides the
	// planned CT intensity clip, keeping the z-score.
	Spacing           [3]float64
	ClipLow, ClipHigh float64
	// Augment is the segmenter's augmentation (NNUNetAugment with the
	// blur, low-resolution, calibration and elastic settings of the
	// recipe); the localiser always uses nnU-Net's.
	Augment Augment
	// Log receives progress bars and one line per epoch; nil is silent.
	Log io.Writer
}

// DefaultOptions is the recipe `otoseg train` runs without flags.
func DefaultOptions() Options {
	return Options{
		Epochs: 40, Steps: 50, LocatorEpochs: 15, LocatorSteps: 40, Batch: 2,
		Optimizer: "adamw",
		Features:  []int{16, 32, 64, 128}, LocatorFeatures: []int{8, 16, 32, 64},
		Seed: 1, Negatives: 4,
		Augment: NNUNetAugment(),
	}
}

// Bounds of the elastic deformation. Choi and Lee (2000) show that a cubic
// B-spline deformation whose control displacements stay below 0.4 of the
// control spacing cannot fold; Augment draws its control displacements
// within ElasticMagMM, so MAG < 0.4 GRID keeps the labyrinth's topology (a
// canal never crosses itself).
const (
	MinElasticGridMM, MaxElasticGridMM = 1.0, 30.0
	MaxElasticMagPerGrid               = 0.4
)

// Check reports the first setting that cannot train, naming the flag of
// `otoseg train` that sets it.
func (o Options) Check() error {
	a := o.Augment
	switch {
	case o.Out == "":
		return fmt.Errorf("train: no output folder (--out)")
	case o.Epochs < 1 || o.Steps < 1 || o.Batch < 1:
		return fmt.Errorf("train: --epochs %d, --steps %d, --batch %d: want at least 1 each", o.Epochs, o.Steps, o.Batch)
	case o.LocatorEpochs < 0 || o.LocatorSteps < 1:
		return fmt.Errorf("train: --locator-epochs %d, --locator-steps %d: want >= 0 and >= 1", o.LocatorEpochs, o.LocatorSteps)
	case o.Optimizer != "adamw" && o.Optimizer != "sgd":
		return fmt.Errorf("train: --optimizer %q: want adamw or sgd", o.Optimizer)
	case !(o.LR >= 0 && o.LR < 10):
		return fmt.Errorf("train: --lr %g: want 0 (the optimiser's default) or a positive rate below 10", o.LR)
	case o.Negatives < 0:
		return fmt.Errorf("train: --negatives %d: want >= 0", o.Negatives)
	case o.ValEvery < 0:
		return fmt.Errorf("train: --val-every %d: want >= 0 (0 or 1 validates after every epoch)", o.ValEvery)
	case !(a.BlurLo > 0 && a.BlurHi >= a.BlurLo && a.BlurHi <= 8):
		return fmt.Errorf("train: --blur %g,%g: want LO,HI voxels with 0 < LO <= HI <= 8", a.BlurLo, a.BlurHi)
	case !(a.PBlur >= 0 && a.PBlur <= 1):
		return fmt.Errorf("train: --blur-p %g: want a probability in [0, 1]", a.PBlur)
	case !(a.LowResLo > 0 && a.LowResLo <= 1):
		return fmt.Errorf("train: --lowres-min %g: want a fraction in (0, 1]", a.LowResLo)
	case a.PCalib > 0 && (!(a.CalibOffset >= 0 && a.CalibOffset <= 500) || !(a.CalibGain >= 0 && a.CalibGain < 0.5)):
		return fmt.Errorf("train: --hu-calibration %g,%g: want OFFSET,GAIN with 0 <= OFFSET <= 500 HU and 0 <= GAIN < 0.5", a.CalibOffset, a.CalibGain)
	case !(a.PElastic >= 0 && a.PElastic <= 1):
		return fmt.Errorf("train: --elastic %g: want a probability in [0, 1]", a.PElastic)
	}
	if a.PElastic > 0 {
		if !(a.ElasticGridMM >= MinElasticGridMM && a.ElasticGridMM <= MaxElasticGridMM) {
			return fmt.Errorf("train: --elastic-grid %g mm: want %g to %g mm (finer bends the lumen walls voxel by voxel, coarser than the region of interest only shifts it)", a.ElasticGridMM, MinElasticGridMM, MaxElasticGridMM)
		}
		if lim := MaxElasticMagPerGrid * a.ElasticGridMM; !(a.ElasticMagMM > 0 && a.ElasticMagMM < lim) {
			return fmt.Errorf("train: --elastic-mag %g mm: want 0 < MAG < %g mm, %g x --elastic-grid, or the deformation may fold anatomy over itself", a.ElasticMagMM, lim, MaxElasticMagPerGrid)
		}
	}
	if o.ClipLow != 0 || o.ClipHigh != 0 {
		if !(o.ClipLow < o.ClipHigh) || o.ClipLow < -2000 || o.ClipHigh > 10000 {
			return fmt.Errorf("train: --intensity-clip %g,%g: want LOW,HIGH HU with -2000 <= LOW < HIGH <= 10000", o.ClipLow, o.ClipHigh)
		}
	}
	for a, s := range o.Spacing {
		if s != 0 && !(s > 0 && s <= 10) || math.IsNaN(s) {
			return fmt.Errorf("train: --spacing %v: axis %d is not a spacing in (0, 10] mm", o.Spacing, a)
		}
	}
	return nil
}

// lr is the initial learning rate: o.LR, or the optimiser's default.
func (o Options) lr() float64 {
	switch {
	case o.LR != 0:
		return o.LR
	case o.Optimizer == "adamw":
		return 2e-3
	}
	return 1e-2
}
