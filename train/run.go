package train

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/otoseg/otoseg/dataset"
	"github.com/otoseg/otoseg/ear"
	"github.com/otoseg/otoseg/plan"
	"github.com/otoseg/otoseg/segment"
	"github.com/otoseg/otoseg/unet"
)

// run is one training run in progress: its options, data and what the
// stages have made so far.
type run struct {
	o                    Options
	manifest             string
	trainCases, valCases []dataset.Case
	base                 *segment.Model
	plan                 *plan.Plan
	locator, seg         *unet.UNet
	curves               []CurveRow
	start                time.Time
	recipe               map[string]string
	calibrationSummary   string
}

// Run trains a model end to end on the manifest's "train" cases, validating
// on its "validation" cases: plan (or keep --init's), localiser with
// negative scans, segmenter, calibration of the foreground threshold and the
// localiser's minimum score, curves and the model card. It writes the model
// folder o.Out and returns the model. A run interrupted through ctx
// continues from its checkpoints with o.Resume.
//
// The same options, data and seed give the same model bytes on the same
// kernel path (nn.KernelPath), whatever the number of threads.
func Run(ctx context.Context, m *dataset.Manifest, o Options) (*segment.Model, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	r := &run{o: o, manifest: m.Path, start: time.Now()}
	if err := r.load(m); err != nil {
		return nil, err
	}
	stages := []struct {
		name string
		do   func(context.Context) error
	}{
		{"plan", r.makePlan},
		{"localiser", r.trainLocator},
		{"segmenter", r.trainSegmenter},
		{"calibration", r.calibrate},
	}
	for _, s := range stages {
		if err := s.do(ctx); err != nil {
			return nil, err
		}
	}
	return r.write()
}

// load checks the manifest's files and splits its cases.
func (r *run) load(m *dataset.Manifest) error {
	if err := m.CheckFiles(); err != nil {
		return err
	}
	r.trainCases = m.Filter(func(c dataset.Case) bool { return c.Split == dataset.SplitTrain })
	r.valCases = m.Filter(func(c dataset.Case) bool { return c.Split == dataset.SplitValidation })
	if len(r.trainCases) == 0 {
		return fmt.Errorf("train: manifest %s has no cases with split=train", m.Path)
	}
	if err := os.MkdirAll(r.o.Out, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	fmt.Fprintf(r.o.Log, "otoseg train: %d training and %d validation cases from %s, %d threads\n", len(r.trainCases), len(r.valCases), m.Path, runtime.GOMAXPROCS(0))
	return nil
}

// makePlan fingerprints the training cases and derives the plan, or keeps
// the baseline's when fine-tuning; then applies the overrides.
func (r *run) makePlan(ctx context.Context) error {
	o := r.o
	if o.Init != "" {
		base, err := segment.LoadModel(o.Init)
		if err != nil {
			return err
		}
		r.base, r.plan = base, base.Plan
		fmt.Fprintf(o.Log, "fine-tuning %s: keeping its plan\n", o.Init)
	} else {
		bar := newBar(o.Log, len(r.trainCases), "fingerprint")
		fp, err := Fingerprint(ctx, r.trainCases, func(int) { _ = bar.Add(1) })
		_ = bar.Finish()
		if err != nil {
			return err
		}
		p, err := plan.Derive(fp, ear.Names(), plan.DefaultRules())
		if err != nil {
			return err
		}
		if p.Network, err = netConfig(o.Features, len(ear.Names())+1); err != nil {
			return fmt.Errorf("train: --features: %w", err)
		}
		if p.Locator.Network, err = netConfig(o.LocatorFeatures, 2); err != nil {
			return fmt.Errorf("train: --locator-features: %w", err)
		}
		r.plan = p
	}
	p := r.plan
	if o.Spacing != [3]float64{} {
		p.SetSpacing(o.Spacing, plan.DefaultRules())
	}
	if o.ClipLow < o.ClipHigh {
		p.Intensity.ClipLow, p.Intensity.ClipHigh = o.ClipLow, o.ClipHigh
	}
	if err := p.Check(); err != nil {
		return err
	}
	fmt.Fprintf(o.Log, "plan: spacing %.3g mm, ROI %.3g mm (%v voxels), patch %v, intensity clip [%.0f, %.0f] z-score (%.0f, %.0f)\n",
		p.TargetSpacing, p.ROISizeMM, p.ROIDims(), p.PatchSize, p.Intensity.ClipLow, p.Intensity.ClipHigh, p.Intensity.Mean, p.Intensity.Std)
	return nil
}

// netConfig is the default network with the given features and classes,
// as the JSON a plan stores.
func netConfig(features []int, classes int) (json.RawMessage, error) {
	c := unet.DefaultConfig()
	c.Features = features
	c.NumClasses = classes
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(c)
}

// trainLocator trains the localiser on whole scans at its coarse spacing,
// plus the negative scans.
func (r *run) trainLocator(ctx context.Context) error {
	o, p := r.o, r.plan
	net, err := buildNet(p.Locator.Network, r.base, func(b *segment.Model) *unet.UNet { return b.Locator }, o.Seed)
	if err != nil {
		return err
	}
	r.locator = net
	if o.LocatorEpochs == 0 {
		return nil
	}
	bar := newBar(o.Log, len(r.trainCases)+len(r.valCases), "localiser data")
	ls, err := LocatorSamples(ctx, r.trainCases, p.Locator, func(int) { _ = bar.Add(1) })
	if err != nil {
		return err
	}
	lv, err := LocatorSamples(ctx, r.valCases, p.Locator, func(int) { _ = bar.Add(1) })
	_ = bar.Finish()
	if err != nil {
		return err
	}
	neg, err := negativeSamples(o.Negatives, o.Seed, p.Locator)
	if err != nil {
		return err
	}
	ls = append(ls, neg...)
	fo := DefaultFitOptions()
	fo.Epochs, fo.StepsPerEpoch, fo.Batch, fo.Seed = o.LocatorEpochs, o.LocatorSteps, o.Batch, o.Seed+1
	fo.Optimizer, fo.LR = o.Optimizer, o.lr()
	fo.Patcher.Patch = p.Locator.PatchSize
	fo.ValEvery = o.ValEvery
	// The ears fill a thousandth of a head: show them in half the patches.
	fo.Patcher.ForegroundFraction = 0.5
	if fo.CheckpointDir, err = r.checkpointDir("checkpoint-locator"); err != nil {
		return err
	}
	fo.Resume = o.Resume
	return fit(ctx, o.Log, "localiser", net, ls, lv, fo, &r.curves)
}

// trainSegmenter trains the segmenter on the ears' regions of interest.
func (r *run) trainSegmenter(ctx context.Context) error {
	o, p := r.o, r.plan
	net, err := buildNet(p.Network, r.base, func(b *segment.Model) *unet.UNet { return b.Seg }, o.Seed)
	if err != nil {
		return err
	}
	r.seg = net
	bar := newBar(o.Log, len(r.trainCases)+len(r.valCases), "ear regions")
	ss, err := EarSamples(ctx, r.trainCases, p, 8, func(int) { _ = bar.Add(1) })
	if err != nil {
		return err
	}
	sv, err := EarSamples(ctx, r.valCases, p, 0, func(int) { _ = bar.Add(1) })
	_ = bar.Finish()
	if err != nil {
		return err
	}
	fo := DefaultFitOptions()
	fo.Epochs, fo.StepsPerEpoch, fo.Batch, fo.Seed = o.Epochs, o.Steps, o.Batch, o.Seed
	fo.Optimizer, fo.LR = o.Optimizer, o.lr()
	fo.Patcher.Patch = p.PatchSize
	fo.ValEvery = o.ValEvery
	fo.Patcher.Aug = o.Augment
	fo.Patcher.Aug.CalibMean, fo.Patcher.Aug.CalibStd = p.Intensity.Mean, p.Intensity.Std
	if fo.CheckpointDir, err = r.checkpointDir("checkpoint-segmenter"); err != nil {
		return err
	}
	fo.Resume = o.Resume
	return fit(ctx, o.Log, "segmenter", net, ss, sv, fo, &r.curves)
}

func (r *run) checkpointDir(name string) (string, error) {
	d := filepath.Join(r.o.Out, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", fmt.Errorf("train: %w", err)
	}
	return d, nil
}

// calibrate sets the foreground threshold and the localiser's minimum
// score on the validation cases (nothing to do without them).
func (r *run) calibrate(ctx context.Context) error {
	if len(r.valCases) == 0 {
		return nil
	}
	m := &segment.Model{Plan: r.plan, Seg: r.seg, Locator: r.locator}
	cal, err := Calibrate(ctx, r.o.Log, m, r.valCases)
	if err != nil {
		return err
	}
	r.plan.ForegroundThreshold, r.plan.Locator.MinScore = cal.Threshold, cal.MinScore
	r.calibrationSummary = cal.Summary
	return nil
}

// write saves the model folder: plan, weights with the recipe in their
// metadata, curves and card.
func (r *run) write() (*segment.Model, error) {
	o := r.o
	r.recipe = r.recipeMeta()
	m := &segment.Model{Dir: o.Out, Plan: r.plan, Seg: r.seg, Locator: r.locator, Meta: r.recipe,
		LocatorMeta: map[string]string{"role": "locator"}}
	if err := writeCurves(o.Out, r.curves); err != nil {
		return nil, err
	}
	if err := m.Save(o.Out, r.card()); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "model written to %s in %s\n", o.Out, time.Since(r.start).Round(time.Second))
	return m, nil
}

// recipeMeta is the recipe as the segmenter's weights metadata records it.
func (r *run) recipeMeta() map[string]string {
	o, a := r.o, r.o.Augment
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	rec := map[string]string{
		"role": "segmenter", "trained_on": r.manifest, "train_cases": strconv.Itoa(len(r.trainCases)),
		"validation_cases": strconv.Itoa(len(r.valCases)), "epochs": strconv.Itoa(o.Epochs), "steps_per_epoch": strconv.Itoa(o.Steps),
		"batch": strconv.Itoa(o.Batch), "optimizer": o.Optimizer, "lr": f(o.lr()),
		"seed": strconv.FormatUint(o.Seed, 10), "init": o.Init,
		"augment_blur_voxels": f(a.BlurLo) + "," + f(a.BlurHi), "augment_blur_p": f(a.PBlur), "augment_lowres_min": f(a.LowResLo),
		"augment_elastic_p": f(a.PElastic),
		"train_seconds":     strconv.FormatFloat(time.Since(r.start).Seconds(), 'f', 0, 64),
	}
	if a.PCalib > 0 {
		rec["augment_hu_calibration"] = f(a.CalibOffset) + "," + f(a.CalibGain)
	}
	if a.PElastic > 0 {
		rec["augment_elastic_mag_mm"] = f(a.ElasticMagMM)
		rec["augment_elastic_grid_mm"] = f(a.ElasticGridMM)
	}
	if n := len(r.curves); n > 0 && r.curves[n-1].Validated {
		rec["final_validation_dice"] = strconv.FormatFloat(r.curves[n-1].ValDice, 'f', 4, 64)
	}
	if r.calibrationSummary != "" {
		rec["calibration"] = r.calibrationSummary
	}
	return rec
}

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

// newBar is a progress bar on w that clears itself when done.
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
