package unet

import (
	"context"

	"github.com/otoseg/otoseg/internal/timing"

	"github.com/otoseg/otoseg/nn"
	"github.com/otoseg/otoseg/nn/optim"
)

// BenchConfig is the network `otoseg bench engine` times: five stages of
// 16-32-64-128-256 features, two classes, one head (the PyTorch side in
// package bench has no deep supervision).
func BenchConfig() Config {
	c := DefaultConfig()
	c.NumClasses = 2
	c.DeepSupervision = false
	return c
}

// Bench is the U-Net part of `otoseg bench engine` (bench.UNetRunner): the
// median seconds, after one warm-up, of reps runs of (a) one training step
// on a batch of 2x1x64^3 (forward, cross-entropy, backward, SGD with
// Nesterov momentum 0.99, lr 1e-2) and (b) one inference on 1x1x96^3
// without gradient bookkeeping, on the given number of threads.
func Bench(ctx context.Context, threads, reps int) (trainStepS, infer96S float64, err error) {
	u, err := New(BenchConfig())
	if err != nil {
		return 0, 0, err
	}
	u.Init(1)
	u.SetThreads(threads)
	trainStepS, err = timeTrainStep(ctx, u, &nn.CrossEntropyLoss{}, 2, 64, reps)
	if err != nil {
		return 0, 0, err
	}
	infer96S, err = timeInference(ctx, u, 96, reps)
	return trainStepS, infer96S, err
}

// timeTrainStep times forward, loss, backward and an SGD step on a random
// batch; the loss applies to the highest-resolution output (wrapped in deep
// supervision when the network has it).
func timeTrainStep(ctx context.Context, u *UNet, loss nn.Loss, batch, size, reps int) (float64, error) {
	rng := nn.NewRand(2)
	x := nn.NewTensor(batch, u.cfg.InChannels, size, size, size)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	target := nn.NewLabels(batch, size, size, size)
	for i := range target.Data {
		target.Data[i] = uint8(rng.IntN(u.cfg.NumClasses))
	}
	opt, err := optim.NewSGD(u.Params(), optim.SGDConfig{LR: 1e-2, Momentum: 0.99, Nesterov: true})
	if err != nil {
		return 0, err
	}
	var ds *nn.DeepSupervisionLoss
	if u.cfg.Outputs() > 1 {
		ds = nn.NewDeepSupervisionLoss(u.cfg.Outputs(), func() nn.Loss { return nn.NewDiceCELoss(true) })
	}
	grads := make([]*nn.Tensor, 1)
	var stepErr error
	step := func() {
		opt.ZeroGrad()
		outs := u.Forward(x, true)
		if ds != nil {
			if _, stepErr = ds.Forward(outs, target); stepErr != nil {
				return
			}
			stepErr = u.Backward(ds.Backward())
		} else {
			if _, stepErr = loss.Forward(outs[0], target); stepErr != nil {
				return
			}
			grads[0] = loss.Backward()
			stepErr = u.Backward(grads)
		}
		opt.Step()
	}
	t, err := timing.Median(ctx, timing.Wall, reps, step)
	if stepErr != nil {
		return 0, stepErr
	}
	return t, err
}

func timeInference(ctx context.Context, u *UNet, size, reps int) (float64, error) {
	rng := nn.NewRand(3)
	x := nn.NewTensor(1, u.cfg.InChannels, size, size, size)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	return timing.Median(ctx, timing.Wall, reps, func() { u.Forward(x, false) })
}
