package optim

import (
	"testing"

	"github.com/otoseg/otoseg/nn"
)

// Resuming from a saved state must continue exactly as the original run.
func TestStateResumesExactly(t *testing.T) {
	mk := func() []*nn.Param {
		p := nn.NewParam("w", 3)
		copy(p.Data, []float32{1, -2, 3})
		return []*nn.Param{p}
	}
	grads := [][]float32{{0.1, 0.2, -0.3}, {0.5, -0.1, 0.2}, {-0.4, 0.3, 0.1}}
	builders := map[string]func([]*nn.Param) (interface {
		Optimizer
		Stateful
	}, error){
		"sgd": func(p []*nn.Param) (interface {
			Optimizer
			Stateful
		}, error) {
			return NewSGD(p, SGDConfig{LR: 0.1, Momentum: 0.9, Nesterov: true, WeightDecay: 1e-3})
		},
		"adamw": func(p []*nn.Param) (interface {
			Optimizer
			Stateful
		}, error) {
			return NewAdamW(p, AdamConfig{LR: 0.01, WeightDecay: 0.01})
		},
	}
	for name, build := range builders {
		full := mk()
		o, err := build(full)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range grads {
			copy(full[0].Grad, g)
			o.Step()
		}
		part := mk()
		o1, _ := build(part)
		for _, g := range grads[:2] {
			copy(part[0].Grad, g)
			o1.Step()
		}
		ts, meta := o1.State()
		// Copy the tensors, as a checkpoint file would.
		var saved []nn.NamedTensor
		for _, x := range ts {
			saved = append(saved, nn.NamedTensor{Name: x.Name, Shape: x.Shape, Data: append([]float32(nil), x.Data...)})
		}
		resumed := []*nn.Param{{Name: "w", Shape: []int{3}, Data: append([]float32(nil), part[0].Data...), Grad: make([]float32, 3)}}
		o2, _ := build(resumed)
		if err := o2.SetState(saved, meta); err != nil {
			t.Fatal(err)
		}
		copy(resumed[0].Grad, grads[2])
		o2.Step()
		for i := range full[0].Data {
			if full[0].Data[i] != resumed[0].Data[i] {
				t.Errorf("%s: resumed %v, uninterrupted %v", name, resumed[0].Data, full[0].Data)
				break
			}
		}
	}
}
