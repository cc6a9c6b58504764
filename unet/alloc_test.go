package unet

import (
	"runtime"
	"testing"

	"github.com/otoseg/otoseg/nn"
	"github.com/otoseg/otoseg/nn/optim"
)

// TestStepReusesBuffers checks that after the first step a training step and
// an inference allocate no tensor buffers: every layer keeps and reuses its
// own. What remains is goroutine bookkeeping, well under one activation
// (2x4x32^3 float32 = 1 MiB here).
func TestStepReusesBuffers(t *testing.T) {
	c := Config{InChannels: 1, NumClasses: 2, Features: []int{4, 8, 16}, ConvsPerStage: 2, DeepSupervision: true, NegativeSlope: 0.01, NormEps: 1e-5}
	u, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	u.Init(1)
	x := nn.NewTensor(2, 1, 32, 32, 32)
	y := nn.NewLabels(2, 32, 32, 32)
	y.Data[100] = 1
	opt, _ := optim.NewSGD(u.Params(), optim.SGDConfig{LR: 1e-2, Momentum: 0.99, Nesterov: true})
	loss := nn.NewDeepSupervisionLoss(c.Outputs(), func() nn.Loss { return nn.NewDiceCELoss(true) })
	step := func() {
		opt.ZeroGrad()
		if _, err := loss.Forward(u.Forward(x, true), y); err != nil {
			t.Fatal(err)
		}
		if err := u.Backward(loss.Backward()); err != nil {
			t.Fatal(err)
		}
		opt.Step()
	}
	for _, tc := range []struct {
		name string
		fn   func()
	}{
		{"train step", step},
		{"inference", func() { u.Forward(x, false) }},
	} {
		tc.fn()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		for range 3 {
			tc.fn()
		}
		runtime.ReadMemStats(&m1)
		per := (m1.TotalAlloc - m0.TotalAlloc) / 3
		t.Logf("%s: %d bytes allocated", tc.name, per)
		if per > 256<<10 {
			t.Errorf("%s allocates %d bytes after the first run: a layer reallocates its buffers", tc.name, per)
		}
	}
}
