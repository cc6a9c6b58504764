// Package train fits a U-Net to labelled samples the way nnU-Net does:
// random patches with a share forced onto the foreground, the nnU-Net
// augmentations, Dice + cross-entropy with deep supervision, SGD with
// Nesterov momentum (or AdamW) under a poly learning-rate schedule,
// validation Dice after every epoch, and checkpoints to resume from.
//
// The package knows nothing about ears or files: callers turn scans into
// Samples (see Prepare* in this package) and decide what to do with each
// epoch's log.
package train

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/otoseg/otoseg/infer"
	"github.com/otoseg/otoseg/metrics"
	"github.com/otoseg/otoseg/nn"
	"github.com/otoseg/otoseg/nn/optim"
	"github.com/otoseg/otoseg/unet"
)

// FitOptions configure a training run.
type FitOptions struct {
	Epochs        int
	StepsPerEpoch int
	Batch         int
	// Optimizer is "sgd" (nnU-Net: lr 1e-2, momentum 0.99, Nesterov,
	// weight decay 3e-5) or "adamw".
	Optimizer   string
	LR          float64
	Momentum    float64
	WeightDecay float64
	Patcher     Patcher
	Seed        uint64
	// CheckpointDir, when set, receives checkpoint.safetensors and
	// checkpoint-optim.safetensors after every epoch.
	CheckpointDir string
	// Resume continues from the checkpoint in CheckpointDir if there is one.
	Resume bool
	// ValEvery validates after every ValEvery-th epoch and after the last;
	// 0 or 1 validates after every epoch. Validation only measures, so the
	// trained weights are the same bits whatever it is. On 21 validation
	// ears it took 18-20 s, against 73-74 s for an epoch of 110 steps at
	// 64^3 (2 Zen 5 cores).
	ValEvery int
	// OnStep is called after every step (for progress bars); may be nil.
	OnStep func(epoch, step int, loss float64)
}

// DefaultOptions are nnU-Net's settings, scaled to a CPU budget.
func DefaultFitOptions() FitOptions {
	return FitOptions{
		Epochs: 50, StepsPerEpoch: 50, Batch: 2,
		Optimizer: "sgd", LR: 1e-2, Momentum: 0.99, WeightDecay: 3e-5,
		Patcher: Patcher{ForegroundFraction: 0.33, Aug: NNUNetAugment()},
		Seed:    1,
	}
}

// EpochLog is one row of the training curve.
type EpochLog struct {
	Epoch     int     // 1-based
	LR        float64 // at the start of the epoch
	TrainLoss float64 // mean over the epoch's steps
	// Validated is set when the epoch ended with a validation
	// (FitOptions.ValEvery). ValDice is then the mean foreground Dice over
	// validation samples (labels > 0 as one structure) and ValDiceClass the
	// mean Dice per class 1..C-1.
	Validated    bool
	ValDice      float64
	ValDiceClass []float64
	Seconds      float64
}

// Fit trains one network on samples, validating on val after the epochs
// o.ValEvery picks, and calls onEpoch with each epoch's log (a non-nil
// error stops training).
func Fit(ctx context.Context, net *unet.UNet, samples, val []*Sample, o FitOptions, onEpoch func(EpochLog) error) error {
	if len(samples) == 0 {
		return errors.New("train: no training samples")
	}
	if o.Batch < 1 || o.Epochs < 1 || o.StepsPerEpoch < 1 {
		return fmt.Errorf("train: batch %d, epochs %d and steps %d must be positive", o.Batch, o.Epochs, o.StepsPerEpoch)
	}
	if o.ValEvery < 0 {
		return fmt.Errorf("train: validation every %d epochs: want 0 or more", o.ValEvery)
	}
	cfg := net.Config()
	p := o.Patcher.Patch
	for a := 0; a < 3; a++ {
		if p[a]%cfg.Divisor() != 0 {
			return fmt.Errorf("train: patch %v is not a multiple of the network's divisor %d", p, cfg.Divisor())
		}
	}
	var opt interface {
		optim.Optimizer
		optim.Stateful
	}
	var err error
	switch o.Optimizer {
	case "sgd":
		opt, err = optim.NewSGD(net.Params(), optim.SGDConfig{LR: o.LR, Momentum: o.Momentum, Nesterov: o.Momentum > 0, WeightDecay: o.WeightDecay})
	case "adamw":
		opt, err = optim.NewAdamW(net.Params(), optim.AdamConfig{LR: o.LR, WeightDecay: o.WeightDecay})
	default:
		err = fmt.Errorf("unknown optimizer %q, want sgd or adamw", o.Optimizer)
	}
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	start := 0
	if o.Resume && o.CheckpointDir != "" {
		if start, err = loadCheckpoint(o.CheckpointDir, net, opt); err != nil {
			return err
		}
	}
	loss := nn.NewDeepSupervisionLoss(cfg.Outputs(), func() nn.Loss { return nn.NewDiceCELoss(true) })
	// A batch no larger than the cores is split between replicas of the
	// network, one sample each (splitBatch: the same bits, 10-12% sooner
	// on 2 cores); Fit leaves the network on all cores again.
	var st stepper = &wholeBatch{net, loss}
	if threads := runtime.GOMAXPROCS(0); o.Batch > 1 && o.Batch <= threads {
		sb, err := newSplitBatch(net, loss, o.Batch, threads)
		if err != nil {
			return err
		}
		defer net.SetThreads(0)
		st = sb
	}
	bufs := make([]batch, batchesAhead)
	for i := range bufs {
		bufs[i] = batch{nn.NewTensor(o.Batch, 1, p[2], p[1], p[0]), nn.NewLabels(o.Batch, p[2], p[1], p[0])}
	}
	for epoch := start; epoch < o.Epochs; epoch++ {
		// One generator per epoch, derived from the seed, so a resumed run
		// draws the same patches as an uninterrupted one.
		rng := rand.New(rand.NewPCG(o.Seed, uint64(epoch)))
		t0 := time.Now()
		lr := optim.PolyLR(o.LR, epoch, o.Epochs)
		opt.SetLR(lr)
		sum, err := trainEpoch(ctx, st, opt, cutAhead(rng, samples, &o.Patcher, bufs, o.StepsPerEpoch), epoch, o)
		if err != nil {
			return err
		}
		log := EpochLog{Epoch: epoch + 1, LR: lr, TrainLoss: sum / float64(o.StepsPerEpoch)}
		if len(val) > 0 && (epoch+1 == o.Epochs || (epoch+1)%max(o.ValEvery, 1) == 0) {
			net.SetThreads(0)
			d, dc, err := Validate(ctx, net, val, p)
			if err != nil {
				return err
			}
			log.Validated, log.ValDice, log.ValDiceClass = true, d, dc
		}
		log.Seconds = time.Since(t0).Seconds()
		if o.CheckpointDir != "" {
			if err := saveCheckpoint(o.CheckpointDir, net, opt, epoch+1); err != nil {
				return err
			}
		}
		if onEpoch != nil {
			if err := onEpoch(log); err != nil {
				return err
			}
		}
	}
	return nil
}

// batch is one step's patches and labels.
type batch struct {
	x *nn.Tensor
	y *nn.Labels
}

// batchesAhead is the number of batches in flight: one the network trains
// on, one cut and waiting, one being cut.
const batchesAhead = 3

// batchStream is cutAhead's output: ready delivers the epoch's batches in
// order, free takes each back once its step is done, stop ends the cutting
// early and waits for it.
type batchStream struct {
	ready <-chan batch
	free  chan<- batch
	stop  func()
}

// cutAhead cuts the epoch's steps batches on a goroutine of its own, a
// step or two ahead of the network, into bufs. It draws from rng in the
// order the training loop used to (each batch's samples and patches in
// turn), so the patches are the same bits; the cutting, a single-threaded
// 7-12 ms per 64^3 patch, then runs while the layers wait on each other
// instead of before every step.
func cutAhead(rng *rand.Rand, samples []*Sample, pt *Patcher, bufs []batch, steps int) batchStream {
	ready := make(chan batch, len(bufs))
	free := make(chan batch, len(bufs))
	for _, b := range bufs {
		free <- b
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for range steps {
			var b batch
			select {
			case b = <-free:
			case <-done:
				return
			}
			ps := len(b.y.Data) / b.y.Shape[0]
			for i := range b.y.Shape[0] {
				s := samples[rng.IntN(len(samples))]
				pt.Cut(rng, s, b.x.Data[i*ps:(i+1)*ps], b.y.Data[i*ps:(i+1)*ps])
			}
			ready <- b
		}
	})
	return batchStream{ready: ready, free: free, stop: func() { close(done); wg.Wait() }}
}

// trainEpoch runs one epoch's steps on the batches of in and returns the
// summed loss.
func trainEpoch(ctx context.Context, st stepper, opt optim.Optimizer, in batchStream, epoch int, o FitOptions) (float64, error) {
	defer in.stop()
	var sum float64
	for step := 0; step < o.StepsPerEpoch; step++ {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		b := <-in.ready
		opt.ZeroGrad()
		l, err := st.step(b)
		if err != nil {
			return 0, fmt.Errorf("train: epoch %d step %d: %w", epoch+1, step+1, err)
		}
		opt.Step()
		in.free <- b
		sum += l
		if o.OnStep != nil {
			o.OnStep(epoch, step, l)
		}
	}
	return sum, nil
}

// Validate predicts every validation sample with a sliding window and
// returns the mean foreground Dice and the mean Dice per class.
func Validate(ctx context.Context, net *unet.UNet, val []*Sample, patch [3]int) (float64, []float64, error) {
	C := net.Config().NumClasses
	w := infer.SlidingWindow{Patch: patch}
	var fg float64
	per := make([]float64, C-1)
	for _, s := range val {
		prob, err := w.Probabilities(ctx, infer.UNet{Net: net}, s.Image, s.Dims, C)
		if err != nil {
			return 0, nil, fmt.Errorf("validate %s: %w", s.ID, err)
		}
		pred := infer.Argmax(prob, C)
		fg += metrics.DiceOf(pred, s.Label, func(v uint8) bool { return v > 0 })
		for c := 1; c < C; c++ {
			cc := uint8(c)
			per[c-1] += metrics.DiceOf(pred, s.Label, func(v uint8) bool { return v == cc })
		}
	}
	n := float64(len(val))
	for i := range per {
		per[i] /= n
	}
	return fg / n, per, nil
}

const (
	checkpointFile      = "checkpoint.safetensors"
	checkpointOptimFile = "checkpoint-optim.safetensors"
)

func saveCheckpoint(dir string, net *unet.UNet, opt optim.Stateful, epoch int) error {
	if err := net.Save(filepath.Join(dir, checkpointFile), map[string]string{"epoch": strconv.Itoa(epoch)}); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	ts, meta := opt.State()
	meta["epoch"] = strconv.Itoa(epoch)
	if err := nn.SaveSafetensors(filepath.Join(dir, checkpointOptimFile), ts, meta); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	return nil
}

// loadCheckpoint restores weights and optimiser state and returns the
// number of epochs already done (0 when there is no checkpoint).
func loadCheckpoint(dir string, net *unet.UNet, opt optim.Stateful) (int, error) {
	wp := filepath.Join(dir, checkpointFile)
	if _, err := os.Stat(wp); errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	st, err := nn.LoadSafetensors(wp)
	if err != nil {
		return 0, fmt.Errorf("train: resume: %w", err)
	}
	if err := net.SetWeights(st); err != nil {
		return 0, fmt.Errorf("train: resume %s: %w", wp, err)
	}
	ost, err := nn.LoadSafetensors(filepath.Join(dir, checkpointOptimFile))
	if err != nil {
		return 0, fmt.Errorf("train: resume: %w", err)
	}
	if err := opt.SetState(ost.Tensors, ost.Metadata); err != nil {
		return 0, fmt.Errorf("train: resume: %w", err)
	}
	we, err1 := strconv.Atoi(st.Metadata["epoch"])
	oe, err2 := strconv.Atoi(ost.Metadata["epoch"])
	if err1 != nil || err2 != nil || we != oe {
		return 0, fmt.Errorf("train: resume: weights (epoch %q) and optimiser state (epoch %q) disagree", st.Metadata["epoch"], ost.Metadata["epoch"])
	}
	return we, nil
}
