package optim

import (
	"fmt"
	"strconv"

	"github.com/otoseg/otoseg/nn"
)

// Stateful optimisers can save and restore their internal state (momentum
// buffers, moment estimates, step count), so training resumes exactly where
// a checkpoint left it.
type Stateful interface {
	// State returns the state as named tensors (sharing the optimiser's
	// buffers) and scalars as metadata.
	State() ([]nn.NamedTensor, map[string]string)
	// SetState copies a state written by State back in.
	SetState(tensors []nn.NamedTensor, meta map[string]string) error
}

// State implements Stateful.
func (s *SGD) State() ([]nn.NamedTensor, map[string]string) {
	var ts []nn.NamedTensor
	for i, p := range s.Params {
		if s.buf[i] != nil {
			ts = append(ts, nn.NamedTensor{Name: "momentum." + p.Name, Shape: p.Shape, Data: s.buf[i]})
		}
	}
	return ts, map[string]string{"optimizer": "sgd", "steps": strconv.Itoa(s.steps)}
}

// SetState implements Stateful.
func (s *SGD) SetState(ts []nn.NamedTensor, meta map[string]string) error {
	if meta["optimizer"] != "sgd" {
		return fmt.Errorf("optimizer state is %q, not sgd", meta["optimizer"])
	}
	if err := restore(ts, s.Params, "momentum.", s.buf); err != nil {
		return err
	}
	n, err := strconv.Atoi(meta["steps"])
	if err != nil {
		return fmt.Errorf("optimizer state: steps %q", meta["steps"])
	}
	s.steps = n
	return nil
}

// State implements Stateful.
func (a *Adam) State() ([]nn.NamedTensor, map[string]string) {
	var ts []nn.NamedTensor
	for i, p := range a.Params {
		ts = append(ts, nn.NamedTensor{Name: "m." + p.Name, Shape: p.Shape, Data: a.m[i]},
			nn.NamedTensor{Name: "v." + p.Name, Shape: p.Shape, Data: a.v[i]})
	}
	return ts, map[string]string{"optimizer": "adam", "steps": strconv.Itoa(a.t)}
}

// SetState implements Stateful.
func (a *Adam) SetState(ts []nn.NamedTensor, meta map[string]string) error {
	if meta["optimizer"] != "adam" {
		return fmt.Errorf("optimizer state is %q, not adam", meta["optimizer"])
	}
	if err := restore(ts, a.Params, "m.", a.m); err != nil {
		return err
	}
	if err := restore(ts, a.Params, "v.", a.v); err != nil {
		return err
	}
	n, err := strconv.Atoi(meta["steps"])
	if err != nil {
		return fmt.Errorf("optimizer state: steps %q", meta["steps"])
	}
	a.t = n
	return nil
}

func restore(ts []nn.NamedTensor, params []*nn.Param, prefix string, bufs [][]float32) error {
	byName := make(map[string]nn.NamedTensor, len(ts))
	for _, t := range ts {
		byName[t.Name] = t
	}
	for i, p := range params {
		if bufs[i] == nil {
			continue
		}
		t, ok := byName[prefix+p.Name]
		if !ok {
			return fmt.Errorf("optimizer state lacks %s%s", prefix, p.Name)
		}
		if len(t.Data) != len(bufs[i]) {
			return fmt.Errorf("optimizer state %s%s has %d values, want %d", prefix, p.Name, len(t.Data), len(bufs[i]))
		}
		copy(bufs[i], t.Data)
	}
	return nil
}
