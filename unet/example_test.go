package unet_test

import (
	"fmt"

	"github.com/otoseg/otoseg/nn"
	"github.com/otoseg/otoseg/nn/optim"
	"github.com/otoseg/otoseg/unet"
)

// One training step of a small network with nnU-Net's loss and optimiser,
// then inference.
func Example() {
	cfg := unet.Config{InChannels: 1, NumClasses: 2, Features: []int{4, 8, 16}, ConvsPerStage: 2,
		DeepSupervision: true, NegativeSlope: 0.01, NormEps: 1e-5}
	u, err := unet.New(cfg)
	if err != nil {
		panic(err)
	}
	u.Init(1)
	x := nn.NewTensor(1, 1, 16, 16, 16) // a batch of one 16^3 image
	y := nn.NewLabels(1, 16, 16, 16)    // its label map
	y.Data[8*16*16+8*16+8] = 1

	opt, _ := optim.NewSGD(u.Params(), optim.SGDConfig{LR: 1e-2, Momentum: 0.99, Nesterov: true, WeightDecay: 3e-5})
	loss := nn.NewDeepSupervisionLoss(cfg.Outputs(), func() nn.Loss { return nn.NewDiceCELoss(true) })
	opt.ZeroGrad()
	outs := u.Forward(x, true)
	if _, err := loss.Forward(outs, y); err != nil {
		panic(err)
	}
	if err := u.Backward(loss.Backward()); err != nil {
		panic(err)
	}
	opt.Step()
	for _, o := range outs {
		fmt.Println(o.Shape)
	}
	fmt.Println(u.Forward(x, false)[0].Shape)
	// Output:
	// [1 2 16 16 16]
	// [1 2 8 8 8]
	// [1 2 16 16 16]
}
