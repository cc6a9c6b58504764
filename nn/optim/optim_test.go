package optim

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/otoseg/otoseg/nn"
	"github.com/otoseg/otoseg/nn/internal/npy"
)

// Trajectories come from PyTorch via nn/testdata/make_layer_fixtures.py:
// a 3x5 parameter, four fixed gradients, the learning rate halved before the
// third step.

func fixture(t *testing.T, name, part string) *npy.Array {
	t.Helper()
	a, err := npy.ReadFile(filepath.Join("testdata", name+"_"+part+".npy"))
	if err != nil {
		t.Fatalf("fixture (run /usr/bin/python3 nn/testdata/make_layer_fixtures.py): %v", err)
	}
	return a
}

func TestOptimizersMatchPyTorch(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func([]*nn.Param) (Optimizer, error)
	}{
		{"sgd_nesterov", func(p []*nn.Param) (Optimizer, error) {
			return NewSGD(p, SGDConfig{LR: 0.1, Momentum: 0.9, Nesterov: true, WeightDecay: 0.03})
		}},
		{"sgd_plain", func(p []*nn.Param) (Optimizer, error) { return NewSGD(p, SGDConfig{LR: 0.1}) }},
		{"sgd_damp", func(p []*nn.Param) (Optimizer, error) {
			return NewSGD(p, SGDConfig{LR: 0.05, Momentum: 0.5, Dampening: 0.3, WeightDecay: 0.01})
		}},
		{"adam", func(p []*nn.Param) (Optimizer, error) {
			return NewAdam(p, AdamConfig{LR: 0.01, Beta1: 0.8, Beta2: 0.95, Eps: 1e-6, WeightDecay: 0.1})
		}},
		{"adamw", func(p []*nn.Param) (Optimizer, error) { return NewAdamW(p, AdamConfig{LR: 0.01, WeightDecay: 0.2}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := nn.NewParam("p", 3, 5)
			copy(p.Data, fixture(t, tc.name, "p0").F32())
			grads := fixture(t, tc.name, "grads").F32()
			traj := fixture(t, tc.name, "traj").F32()
			opt, err := tc.make([]*nn.Param{p})
			if err != nil {
				t.Fatal(err)
			}
			for s := range 4 {
				if s == 2 {
					opt.SetLR(opt.LR() * 0.5)
				}
				opt.ZeroGrad()
				copy(p.Grad, grads[s*15:(s+1)*15])
				opt.Step()
				for i, v := range p.Data {
					want := traj[s*15+i]
					if math.Abs(float64(v-want)) > 1e-5*max(1, math.Abs(float64(want))) {
						t.Fatalf("step %d element %d: %v, PyTorch %v", s+1, i, v, want)
					}
				}
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	p := []*nn.Param{nn.NewParam("p", 2)}
	if _, err := NewSGD(p, SGDConfig{LR: 0.1, Nesterov: true}); err == nil {
		t.Error("Nesterov without momentum accepted")
	}
	if _, err := NewSGD(p, SGDConfig{LR: -1}); err == nil {
		t.Error("negative LR accepted")
	}
	if _, err := NewAdam(p, AdamConfig{LR: 0.1, Beta1: 1}); err == nil {
		t.Error("beta1 = 1 accepted")
	}
}

func TestPolyLR(t *testing.T) {
	for _, tc := range []struct {
		epoch, max int
		want       float64
	}{
		{0, 1000, 1e-2},
		{500, 1000, 1e-2 * math.Pow(0.5, 0.9)},
		{999, 1000, 1e-2 * math.Pow(1e-3, 0.9)},
		{1000, 1000, 0},
	} {
		if got := PolyLR(1e-2, tc.epoch, tc.max); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("PolyLR(1e-2, %d, %d) = %v, want %v", tc.epoch, tc.max, got, tc.want)
		}
	}
}

// A large parameter set takes the parallel path; it must agree with the
// serial one.
func TestParallelStepAgrees(t *testing.T) {
	mk := func() []*nn.Param {
		var ps []*nn.Param
		for k := range 8 {
			p := nn.NewParam("p", 20000)
			for i := range p.Data {
				p.Data[i] = float32(math.Sin(float64(i*k + i)))
				p.Grad[i] = float32(math.Cos(float64(i + k)))
			}
			ps = append(ps, p)
		}
		return ps
	}
	big := mk()
	o, _ := NewSGD(big, SGDConfig{LR: 0.01, Momentum: 0.99, Nesterov: true, WeightDecay: 3e-5})
	o.Step()
	o.Step()
	for k, p := range mk() {
		small, _ := NewSGD([]*nn.Param{p}, SGDConfig{LR: 0.01, Momentum: 0.99, Nesterov: true, WeightDecay: 3e-5})
		small.Step()
		small.Step()
		for i := range p.Data {
			if p.Data[i] != big[k].Data[i] {
				t.Fatalf("param %d element %d: %v serial, %v parallel", k, i, p.Data[i], big[k].Data[i])
			}
		}
	}
}
