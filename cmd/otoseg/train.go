package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/otoseg/otoseg/dataset"
	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/internal/atomicfile"
	"github.com/otoseg/otoseg/metrics"
	"github.com/otoseg/otoseg/phantom"
	"github.com/otoseg/otoseg/plan"
	"github.com/otoseg/otoseg/segment"
	"github.com/otoseg/otoseg/train"
	"github.com/otoseg/otoseg/unet"
	"github.com/otoseg/otoseg/volume"
)

type trainOptions struct {
	manifest, out, init  string
	epochs, steps, batch int
	locEpochs, locSteps  int
	optimizer            string
	lr                   float64
	features             string
	locFeatures          string
	seed                 uint64
	negatives            int
	resume               bool
	spacing, clip        string
	blur, huCalib        string
	blurP, lowResMin     float64
	// Elastic deformation: probability per patch, the largest displacement
	// and the control-grid spacing (mm).
	elasticP, elasticMag, elasticGrid float64
}

func newTrainCmd() *cobra.Command {
	o := trainOptions{}
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
			return runTrain(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.manifest, "manifest", "", "dataset manifest (CSV; see `otoseg phantom`)")
	f.StringVar(&o.out, "out", "", "model folder to write")
	f.StringVar(&o.init, "init", "", "model folder to fine-tune from (keeps its plan)")
	f.IntVar(&o.epochs, "epochs", 40, "segmenter epochs")
	f.IntVar(&o.steps, "steps", 50, "segmenter steps (batches) per epoch")
	f.IntVar(&o.batch, "batch", 2, "patches per batch")
	f.IntVar(&o.locEpochs, "locator-epochs", 15, "localiser epochs (0 keeps --init's localiser)")
	f.IntVar(&o.locSteps, "locator-steps", 40, "localiser steps per epoch")
	f.StringVar(&o.optimizer, "optimizer", "adamw", "adamw (default: converges in the short CPU schedules otoseg uses) or sgd (nnU-Net: Nesterov, momentum 0.99)")
	f.Float64Var(&o.lr, "lr", 0, "initial learning rate (default 1e-2 for sgd, 2e-3 for adamw)")
	f.StringVar(&o.features, "features", "16,32,64,128", "segmenter features per stage")
	f.StringVar(&o.locFeatures, "locator-features", "8,16,32,64", "localiser features per stage")
	f.Uint64Var(&o.seed, "seed", 1, "random seed (initialisation, patches, augmentation)")
	f.IntVar(&o.negatives, "negatives", 4, "scans without an inner ear (phantoms of another body part and blank volumes) added to the localiser's training")
	f.BoolVar(&o.resume, "resume", false, "continue from the checkpoints in --out")
	f.StringVar(&o.blur, "blur", "0.5,1", "segmenter augmentation: range of the Gaussian blur's sigma, in voxels of the target grid (nnU-Net: 0.5,1); widen it for scanners with smoother kernels than the training centres")
	f.Float64Var(&o.blurP, "blur-p", 0.2, "segmenter augmentation: probability of the blur (nnU-Net: 0.2)")
	f.Float64Var(&o.lowResMin, "lowres-min", 0.5, "segmenter augmentation: the simulated low-resolution scan is down to this fraction of the target grid per axis (nnU-Net: 0.5)")
	f.Float64Var(&o.elasticP, "elastic", 0, "segmenter augmentation: probability that a patch is elastically deformed by a smooth random displacement field, so the network sees labyrinths bent differently from every training ear (nnU-Net: off; default: off), e.g. 0.2")
	f.Float64Var(&o.elasticMag, "elastic-mag", 1, "with --elastic: the largest displacement, in mm; typical voxels move a quarter of it. The default 1 mm is a canal's diameter, the size of the shape differences between ears")
	f.Float64Var(&o.elasticGrid, "elastic-grid", 6, "with --elastic: control-point spacing of the field, in mm: bends are about this long. The default 6 mm, a third of the ~19 mm patch (64 voxels of 0.3 mm), bends whole canals and cochlear turns, not their walls")
	f.StringVar(&o.huCalib, "hu-calibration", "", "segmenter augmentation: OFFSET,GAIN simulates other scanners' HU calibration in 30% of patches, stored HU = HU x (1 +- GAIN) + (+- OFFSET), e.g. 50,0.1 (default: off)")
	f.StringVar(&o.spacing, "spacing", "", "override the planned target spacing, x,y,z mm (the patch size is re-derived for it)")
	f.StringVar(&o.clip, "intensity-clip", "", "override the planned CT intensity clip, LOW,HIGH HU (z-score kept), e.g. -500,3000. The plan clips at the labyrinth's 0.5 percentile and at the larger of its 99.5 percentile and 2500 HU: nnU-Net's 99.5 percentile alone, about 1250 HU here, flattens canals that a smooth kernel has filled in to bone-like HU")
	return cmd
}

// segmenterAugment is nnU-Net's augmentation with the blur and the
// low-resolution simulation the flags ask for: on a fine target grid
// nnU-Net's ranges, set in voxels, blur far less (in mm) than the kernels
// of real scanners differ by.
func segmenterAugment(o trainOptions) (train.Augment, error) {
	a := train.NNUNetAugment()
	lo, hi, ok := parsePair(o.blur)
	if !ok || !(lo > 0 && hi >= lo && hi <= 8) {
		return a, fmt.Errorf("train: --blur %q: want LO,HI voxels with 0 < LO <= HI <= 8", o.blur)
	}
	if !(o.blurP >= 0 && o.blurP <= 1) {
		return a, fmt.Errorf("train: --blur-p %g: want a probability in [0, 1]", o.blurP)
	}
	if !(o.lowResMin > 0 && o.lowResMin <= 1) {
		return a, fmt.Errorf("train: --lowres-min %g: want a fraction in (0, 1]", o.lowResMin)
	}
	a.BlurLo, a.BlurHi, a.PBlur, a.LowResLo = lo, hi, o.blurP, o.lowResMin
	if o.huCalib != "" {
		off, gain, ok := parsePair(o.huCalib)
		if !ok || !(off >= 0 && off <= 500) || !(gain >= 0 && gain < 0.5) {
			return a, fmt.Errorf("train: --hu-calibration %q: want OFFSET,GAIN with 0 <= OFFSET <= 500 HU and 0 <= GAIN < 0.5", o.huCalib)
		}
		// CalibMean and CalibStd come from the plan once it is known.
		a.PCalib, a.CalibOffset, a.CalibGain = 0.3, off, gain
	}
	if !(o.elasticP >= 0 && o.elasticP <= 1) {
		return a, fmt.Errorf("train: --elastic %g: want a probability in [0, 1]", o.elasticP)
	}
	if o.elasticP > 0 {
		if !(o.elasticGrid >= minElasticGridMM && o.elasticGrid <= maxElasticGridMM) {
			return a, fmt.Errorf("train: --elastic-grid %g mm: want %g to %g mm (finer bends the lumen walls voxel by voxel, coarser than the region of interest only shifts it)", o.elasticGrid, minElasticGridMM, maxElasticGridMM)
		}
		if lim := maxElasticMagPerGrid * o.elasticGrid; !(o.elasticMag > 0 && o.elasticMag < lim) {
			return a, fmt.Errorf("train: --elastic-mag %g mm: want 0 < MAG < %g mm, %g x --elastic-grid, or the deformation may fold anatomy over itself", o.elasticMag, lim, maxElasticMagPerGrid)
		}
		a.PElastic, a.ElasticMagMM, a.ElasticGridMM = o.elasticP, o.elasticMag, o.elasticGrid
	}
	return a, nil
}

// Bounds of --elastic-grid and --elastic-mag. Choi and Lee (2000) show that
// a cubic B-spline deformation whose control displacements stay below 0.4
// of the control spacing cannot fold; train.Augment draws its control
// displacements within ElasticMagMM, so MAG < 0.4 GRID keeps the
// labyrinth's topology (a canal never crosses itself).
const (
	minElasticGridMM, maxElasticGridMM = 1.0, 30.0
	maxElasticMagPerGrid               = 0.4
)

// overrideClip sets the intensity clip from --intensity-clip ("" keeps the
// plan's). The z-score is kept, so a model fine-tuned with a wider clip sees
// the same inputs as before wherever the old clip did not bite.
func overrideClip(in *plan.Intensity, s string) error {
	if s == "" {
		return nil
	}
	lo, hi, ok := parsePair(s)
	if !ok || !(lo < hi) || lo < -2000 || hi > 10000 {
		return fmt.Errorf("train: --intensity-clip %q: want LOW,HIGH HU with -2000 <= LOW < HIGH <= 10000", s)
	}
	in.ClipLow, in.ClipHigh = lo, hi
	return nil
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

func netConfig(features []int, classes int) (unet.Config, json.RawMessage, error) {
	c := unet.DefaultConfig()
	c.Features = features
	c.NumClasses = classes
	if err := c.Validate(); err != nil {
		return c, nil, err
	}
	b, err := json.Marshal(c)
	return c, b, err
}

func runTrain(ctx context.Context, o trainOptions, log io.Writer) error {
	if o.manifest == "" || o.out == "" {
		return errors.New("train: --manifest and --out are required")
	}
	if o.lr == 0 {
		o.lr = 1e-2
		if o.optimizer == "adamw" {
			o.lr = 2e-3
		}
	}
	segAug, err := segmenterAugment(o)
	if err != nil {
		return err
	}
	m, err := dataset.Read(o.manifest)
	if err != nil {
		return err
	}
	if err := m.CheckFiles(); err != nil {
		return err
	}
	trainCases := m.Filter(func(c dataset.Case) bool { return c.Split == dataset.SplitTrain })
	valCases := m.Filter(func(c dataset.Case) bool { return c.Split == dataset.SplitValidation })
	if len(trainCases) == 0 {
		return fmt.Errorf("train: manifest %s has no cases with split=train", o.manifest)
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(log, "otoseg train: %d training and %d validation cases from %s, %d threads\n", len(trainCases), len(valCases), o.manifest, runtime.GOMAXPROCS(0))
	start := time.Now()

	// Plan (or keep the baseline's).
	var p *plan.Plan
	var base *segment.Model
	if o.init != "" {
		if base, err = segment.LoadModel(o.init); err != nil {
			return err
		}
		p = base.Plan
		fmt.Fprintf(log, "fine-tuning %s: keeping its plan\n", o.init)
	} else {
		bar := newBar(log, len(trainCases), "fingerprint")
		fp, err := train.Fingerprint(ctx, trainCases, func(int) { _ = bar.Add(1) })
		_ = bar.Finish()
		if err != nil {
			return err
		}
		if p, err = plan.Derive(fp, train.Labels, plan.DefaultRules()); err != nil {
			return err
		}
		feats, err := parseInts(o.features)
		if err != nil {
			return fmt.Errorf("train: --features: %w", err)
		}
		if _, p.Network, err = netConfig(feats, len(train.Labels)+1); err != nil {
			return fmt.Errorf("train: --features: %w", err)
		}
		lf, err := parseInts(o.locFeatures)
		if err != nil {
			return fmt.Errorf("train: --locator-features: %w", err)
		}
		if _, p.Locator.Network, err = netConfig(lf, 2); err != nil {
			return fmt.Errorf("train: --locator-features: %w", err)
		}
	}
	if o.spacing != "" {
		sp, err := parseSpacing(o.spacing)
		if err != nil {
			return err
		}
		// The patch is re-derived for the new grid.
		p.SetSpacing(sp, plan.DefaultRules())
	}
	if err := overrideClip(&p.Intensity, o.clip); err != nil {
		return err
	}
	if err := p.Check(); err != nil {
		return err
	}
	if err := p.Save(filepath.Join(o.out, segment.PlansFile)); err != nil {
		return err
	}
	fmt.Fprintf(log, "plan: spacing %.3g mm, ROI %.3g mm (%v voxels), patch %v, intensity clip [%.0f, %.0f] z-score (%.0f, %.0f)\n",
		p.TargetSpacing, p.ROISizeMM, p.ROIDims(), p.PatchSize, p.Intensity.ClipLow, p.Intensity.ClipHigh, p.Intensity.Mean, p.Intensity.Std)

	var curves []curveRow
	// Localiser.
	locNet, err := buildNet(p.Locator.Network, base, func(b *segment.Model) *unet.UNet { return b.Locator }, o.seed)
	if err != nil {
		return err
	}
	if o.locEpochs > 0 {
		bar := newBar(log, len(trainCases)+len(valCases), "localiser data")
		ls, err := train.LocatorSamples(ctx, trainCases, p.Locator, func(int) { _ = bar.Add(1) })
		if err != nil {
			return err
		}
		lv, err := train.LocatorSamples(ctx, valCases, p.Locator, func(int) { _ = bar.Add(1) })
		_ = bar.Finish()
		if err != nil {
			return err
		}
		neg, err := negativeSamples(o.negatives, o.seed, p.Locator)
		if err != nil {
			return err
		}
		ls = append(ls, neg...)
		lo := train.DefaultOptions()
		lo.Epochs, lo.StepsPerEpoch, lo.Batch, lo.Seed = o.locEpochs, o.locSteps, o.batch, o.seed+1
		lo.Optimizer, lo.LR = o.optimizer, o.lr
		lo.Patcher.Patch = p.Locator.PatchSize
		// The ears fill a thousandth of a head: show them in half the patches.
		lo.Patcher.ForegroundFraction = 0.5
		lo.CheckpointDir, lo.Resume = mkdir(filepath.Join(o.out, "checkpoint-locator")), o.resume
		if err := fit(ctx, log, "localiser", locNet, ls, lv, lo, &curves); err != nil {
			return err
		}
	}
	if err := locNet.Save(filepath.Join(o.out, segment.LocatorFile), map[string]string{"role": "locator"}); err != nil {
		return err
	}

	// Segmenter.
	segNet, err := buildNet(p.Network, base, func(b *segment.Model) *unet.UNet { return b.Seg }, o.seed)
	if err != nil {
		return err
	}
	bar := newBar(log, len(trainCases)+len(valCases), "ear regions")
	ss, err := train.EarSamples(ctx, trainCases, p, 8, func(int) { _ = bar.Add(1) })
	if err != nil {
		return err
	}
	sv, err := train.EarSamples(ctx, valCases, p, 0, func(int) { _ = bar.Add(1) })
	_ = bar.Finish()
	if err != nil {
		return err
	}
	so := train.DefaultOptions()
	so.Epochs, so.StepsPerEpoch, so.Batch, so.Seed = o.epochs, o.steps, o.batch, o.seed
	so.Optimizer, so.LR = o.optimizer, o.lr
	so.Patcher.Patch = p.PatchSize
	so.Patcher.Aug = segAug
	so.Patcher.Aug.CalibMean, so.Patcher.Aug.CalibStd = p.Intensity.Mean, p.Intensity.Std
	so.CheckpointDir, so.Resume = mkdir(filepath.Join(o.out, "checkpoint-segmenter")), o.resume
	if err := fit(ctx, log, "segmenter", segNet, ss, sv, so, &curves); err != nil {
		return err
	}
	recipe := map[string]string{
		"role": "segmenter", "trained_on": o.manifest, "train_cases": strconv.Itoa(len(trainCases)),
		"validation_cases": strconv.Itoa(len(valCases)), "epochs": strconv.Itoa(o.epochs), "steps_per_epoch": strconv.Itoa(o.steps),
		"batch": strconv.Itoa(o.batch), "optimizer": o.optimizer, "lr": strconv.FormatFloat(o.lr, 'g', -1, 64),
		"seed": strconv.FormatUint(o.seed, 10), "init": o.init,
		"augment_blur_voxels": o.blur, "augment_blur_p": strconv.FormatFloat(o.blurP, 'g', -1, 64), "augment_lowres_min": strconv.FormatFloat(o.lowResMin, 'g', -1, 64), "augment_hu_calibration": o.huCalib,
		"augment_elastic_p": strconv.FormatFloat(o.elasticP, 'g', -1, 64),
		"train_seconds":     strconv.FormatFloat(time.Since(start).Seconds(), 'f', 0, 64),
	}
	if o.elasticP > 0 {
		recipe["augment_elastic_mag_mm"] = strconv.FormatFloat(o.elasticMag, 'g', -1, 64)
		recipe["augment_elastic_grid_mm"] = strconv.FormatFloat(o.elasticGrid, 'g', -1, 64)
	}
	if n := len(curves); n > 0 {
		recipe["final_validation_dice"] = strconv.FormatFloat(curves[n-1].ValDice, 'f', 4, 64)
	}
	if err := segNet.Save(filepath.Join(o.out, segment.SegmenterFile), recipe); err != nil {
		return err
	}
	if len(valCases) > 0 {
		m := &segment.Model{Plan: p, Seg: segNet, Locator: locNet}
		cal, err := calibrate(ctx, log, m, valCases)
		if err != nil {
			return err
		}
		p.ForegroundThreshold, p.Locator.MinScore = cal.threshold, cal.minScore
		recipe["calibration"] = cal.summary
		if err := p.Save(filepath.Join(o.out, segment.PlansFile)); err != nil {
			return err
		}
	}
	if err := writeCurves(o.out, curves); err != nil {
		return err
	}
	if err := writeCard(o.out, p, recipe, curves); err != nil {
		return err
	}
	fmt.Fprintf(log, "model written to %s in %s\n", o.out, time.Since(start).Round(time.Second))
	return nil
}

func mkdir(d string) string { _ = os.MkdirAll(d, 0o755); return d }

// buildNet makes a network from a plan's configuration, initialised from a
// baseline model when fine-tuning, else with Kaiming weights.
func buildNet(cfgJSON json.RawMessage, base *segment.Model, pick func(*segment.Model) *unet.UNet, seed uint64) (*unet.UNet, error) {
	var cfg unet.Config
	if err := json.Unmarshal(cfgJSON, &cfg); err != nil {
		return nil, fmt.Errorf("plan network: %w", err)
	}
	net, err := unet.New(cfg)
	if err != nil {
		return nil, err
	}
	net.Init(seed)
	if base != nil {
		src := pick(base).StateDict()
		for name, p := range net.StateDict() {
			q, ok := src[name]
			if !ok || len(q.Data) != len(p.Data) {
				return nil, fmt.Errorf("baseline lacks parameter %s of the planned network", name)
			}
			copy(p.Data, q.Data)
		}
	}
	return net, nil
}

// negativeSamples are scans without inner ears for the localiser, so that
// it learns to say "none": phantoms of the abdomen (phantom.NonEar), of a
// limb, and blank volumes, in turn.
func negativeSamples(n int, seed uint64, l plan.Locator) ([]*train.Sample, error) {
	var out []*train.Sample
	rng := rand.New(rand.NewPCG(seed, 99))
	for i := 0; i < n; i++ {
		var img *volume.Volume
		switch i % 3 {
		case 0:
			c := phantom.Centres[rng.IntN(len(phantom.Centres))]
			var err error
			if img, _, _, err = phantom.NonEar(phantom.NonEarConfig{Seed: rng.Uint64(), Centre: c}); err != nil {
				return nil, err
			}
		case 1:
			img = phantom.Limb(rng)
		default:
			img = phantom.Blank(rng)
		}
		s, err := train.LocatorSample(img, nil, l)
		if err != nil {
			return nil, err
		}
		s.ID = fmt.Sprintf("negative-%d", i)
		out = append(out, s)
	}
	return out, nil
}

type curveRow struct {
	Network string
	train.EpochLog
}

// fit trains one network with a progress bar and prints each epoch.
func fit(ctx context.Context, log io.Writer, name string, net *unet.UNet, samples, val []*train.Sample, o train.Options, curves *[]curveRow) error {
	fmt.Fprintf(log, "%s: %d training and %d validation samples, patch %v, %d epochs x %d steps x batch %d\n",
		name, len(samples), len(val), o.Patcher.Patch, o.Epochs, o.StepsPerEpoch, o.Batch)
	bar := newBar(log, o.Epochs*o.StepsPerEpoch, name)
	o.OnStep = func(epoch, step int, loss float64) {
		bar.Describe(fmt.Sprintf("%s epoch %d/%d loss %.3f", name, epoch+1, o.Epochs, loss))
		_ = bar.Add(1)
	}
	first := true
	err := train.Run(ctx, net, samples, val, o, func(l train.EpochLog) error {
		if first && o.Resume && l.Epoch > 1 {
			_ = bar.Set((l.Epoch - 1) * o.StepsPerEpoch)
		}
		first = false
		*curves = append(*curves, curveRow{name, l})
		_ = bar.Clear()
		fmt.Fprintf(log, "%s epoch %3d  lr %.5f  loss %.4f  val Dice %.4f %v  %.0fs\n", name, l.Epoch, l.LR, l.TrainLoss, l.ValDice, fmtDice(l.ValDiceClass), l.Seconds)
		return nil
	})
	_ = bar.Finish()
	return err
}

func fmtDice(d []float64) string {
	var s []string
	for _, x := range d {
		s = append(s, strconv.FormatFloat(x, 'f', 3, 64))
	}
	return "[" + strings.Join(s, " ") + "]"
}

func newBar(w io.Writer, n int, desc string) *progressbar.ProgressBar {
	return progressbar.NewOptions(n,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

// writeCurves writes training.csv and training.png (loss and validation
// Dice per epoch, one line per network).
func writeCurves(dir string, rows []curveRow) error {
	path := filepath.Join(dir, "training.csv")
	err := atomicfile.Write(path, func(f io.Writer) error {
		w := csv.NewWriter(f)
		_ = w.Write([]string{"network", "epoch", "lr", "train_loss", "val_dice", "val_dice_per_class", "seconds"})
		for _, r := range rows {
			_ = w.Write([]string{r.Network, strconv.Itoa(r.Epoch), strconv.FormatFloat(r.LR, 'g', 6, 64),
				strconv.FormatFloat(r.TrainLoss, 'f', 5, 64), strconv.FormatFloat(r.ValDice, 'f', 5, 64),
				strings.Trim(fmtDice(r.ValDiceClass), "[]"), strconv.FormatFloat(r.Seconds, 'f', 1, 64)})
		}
		w.Flush()
		return w.Error()
	})
	if err != nil {
		return fmt.Errorf("training curves: %w", err)
	}
	if len(rows) == 0 {
		return nil
	}
	pl := plot.New()
	pl.Title.Text = "otoseg training"
	pl.X.Label.Text = "epoch"
	pl.Y.Label.Text = "loss / Dice"
	series := map[string][2]plotter.XYs{}
	var names []string
	for _, r := range rows {
		s, ok := series[r.Network]
		if !ok {
			names = append(names, r.Network)
		}
		s[0] = append(s[0], plotter.XY{X: float64(r.Epoch), Y: r.TrainLoss})
		s[1] = append(s[1], plotter.XY{X: float64(r.Epoch), Y: r.ValDice})
		series[r.Network] = s
	}
	for i, n := range names {
		s := series[n]
		l, err := plotter.NewLine(s[0])
		if err != nil {
			return err
		}
		l.Color = palette[(2*i)%len(palette)]
		pl.Add(l)
		pl.Legend.Add(n+" train loss", l)
		if len(s[1]) > 0 && s[1][len(s[1])-1].Y > 0 {
			d, err := plotter.NewLine(s[1])
			if err != nil {
				return err
			}
			d.Color = palette[(2*i+1)%len(palette)]
			d.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
			pl.Add(d)
			pl.Legend.Add(n+" validation Dice", d)
		}
	}
	pl.Legend.Top = true
	return savePlot(pl, filepath.Join(dir, "training.png"))
}

// calibration is what calibrate chose on the validation cases.
type calibration struct {
	threshold, minScore float64
	summary             string
}

// calibrate chooses, on the validation cases, the two decisions a trained
// model leaves open: the foreground threshold (the one of a few that gives
// the best mean labyrinth Dice on the scans' own grids) and the localiser's
// minimum score (half the weakest validation ear's), so that stray specks
// in scans without ears are not taken for ears. Only ears whose prediction
// overlaps the reference labyrinth count as validation ears: calibration
// runs with no minimum, so a weak false candidate that the segmenter
// happened to prefer (a condyle, a vessel) would otherwise drag the minimum
// down to its own score and let its like through in every later scan (the
// stage-6 run's first calibration chose 12, from a false candidate scoring
// 23, where the true ears scored 350 and more).
func calibrate(ctx context.Context, log io.Writer, m *segment.Model, cases []dataset.Case) (calibration, error) {
	thresholds := []float64{0.5, 0.45, 0.4, 0.35, 0.3}
	sums := make([]float64, len(thresholds))
	n := 0
	weakest, strongestFalse := math.Inf(1), 0.0
	m.Plan.Locator.MinScore = 0
	bar := newBar(log, len(cases)*len(thresholds), "calibration")
	for _, c := range cases {
		img, err := imageio.Read(c.Image)
		if err != nil {
			return calibration{}, err
		}
		ref, err := imageio.Read(c.Label)
		if err != nil {
			return calibration{}, err
		}
		// One localisation and prediction, pasted at every threshold.
		rs, err := m.SegmentAt(ctx, img, segment.DefaultOptions(), thresholds)
		n++
		_ = bar.Add(len(thresholds))
		if errors.Is(err, segment.ErrNoEar) {
			continue // a missed case scores 0 at every threshold
		}
		if err != nil {
			return calibration{}, err
		}
		for _, e := range rs[0].Ears {
			if overlapsReference(ref, rs[0].Labels, e) {
				weakest = min(weakest, e.LocatorScore)
			} else {
				strongestFalse = max(strongestFalse, e.LocatorScore)
			}
		}
		for ti, res := range rs {
			if len(res.Ears) > 0 {
				sums[ti] += metrics.DiceOf(ref.Data, res.Labels.Data, func(v float32) bool { return v > 0 })
			}
		}
	}
	_ = bar.Finish()
	best := 0
	var parts []string
	for i := range thresholds {
		if sums[i] > sums[best] {
			best = i
		}
		parts = append(parts, fmt.Sprintf("%.2f: %.4f", thresholds[i], sums[i]/float64(max(n, 1))))
	}
	cal := calibration{threshold: thresholds[best]}
	if !math.IsInf(weakest, 1) {
		cal.minScore = math.Round(weakest / 2)
	}
	cal.summary = fmt.Sprintf("on %d validation cases, mean labyrinth Dice by foreground threshold {%s}: chose %.2f; localiser minimum score %.0f (half the weakest validation ear, %.0f)",
		n, strings.Join(parts, ", "), cal.threshold, cal.minScore, weakest)
	if strongestFalse > 0 {
		cal.summary += fmt.Sprintf("; false ears found (no overlap with the reference) scored up to %.0f", strongestFalse)
	}
	fmt.Fprintln(log, "calibration:", cal.summary)
	return cal, nil
}

// overlapsReference reports whether ear e's labels in pred share a voxel
// with the reference labyrinth: a found ear that is really an ear.
func overlapsReference(ref, pred *volume.Volume, e segment.Ear) bool {
	for k := e.BoxLo[2]; k <= e.BoxHi[2]; k++ {
		for j := e.BoxLo[1]; j <= e.BoxHi[1]; j++ {
			for i := e.BoxLo[0]; i <= e.BoxHi[0]; i++ {
				idx := pred.Index(i, j, k)
				if pred.Data[idx] > 0 && ref.Data[idx] > 0 {
					return true
				}
			}
		}
	}
	return false
}
