// Package optim holds the optimisers that train otoseg's networks, with
// PyTorch's update rules (torch.optim.SGD, Adam, AdamW) so that
// hyperparameters from nnU-Net and PyTorch papers mean the same thing here,
// and the poly learning-rate schedule nnU-Net uses.
//
// An optimiser reads each parameter's accumulated gradient in Step and
// updates its values; ZeroGrad clears the gradients for the next step.
package optim

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/otoseg/otoseg/nn"
)

// Optimizer updates parameters from their gradients.
type Optimizer interface {
	// Step applies one update using Param.Grad.
	Step()
	// ZeroGrad clears every parameter's gradient.
	ZeroGrad()
	// LR and SetLR read and set the learning rate (schedules call SetLR).
	LR() float64
	SetLR(lr float64)
}

// PolyLR is nnU-Net's poly schedule: lr0 * (1 - epoch/maxEpochs)^0.9.
func PolyLR(lr0 float64, epoch, maxEpochs int) float64 {
	if maxEpochs <= 0 || epoch >= maxEpochs {
		return 0
	}
	return lr0 * math.Pow(1-float64(epoch)/float64(maxEpochs), 0.9)
}

func zeroGrads(params []*nn.Param) {
	for _, p := range params {
		p.ZeroGrad()
	}
}

// eachParam runs fn over the parameters on up to GOMAXPROCS goroutines; the
// updates are independent per parameter and memory-bound.
func eachParam(params []*nn.Param, fn func(i int, p *nn.Param)) {
	total := 0
	for _, p := range params {
		total += len(p.Data)
	}
	workers := runtime.GOMAXPROCS(0)
	if total < 1<<16 || workers < 2 {
		for i, p := range params {
			fn(i, p)
		}
		return
	}
	var wg sync.WaitGroup
	ch := make(chan int, len(params))
	for i := range params {
		ch <- i
	}
	close(ch)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ch {
				fn(i, params[i])
			}
		}()
	}
	wg.Wait()
}

// SGDConfig configures SGD. nnU-Net uses LR 1e-2, Momentum 0.99, Nesterov,
// WeightDecay 3e-5.
type SGDConfig struct {
	LR, Momentum, Dampening, WeightDecay float64
	Nesterov                             bool
}

// SGD is torch.optim.SGD: with g = grad + wd*p, the momentum buffer starts
// as g and then becomes momentum*buf + (1-dampening)*g; the step is
// g + momentum*buf with Nesterov, buf without, and g with no momentum;
// p -= lr*step.
type SGD struct {
	Params []*nn.Param
	Config SGDConfig
	buf    [][]float32
	steps  int
}

// NewSGD returns SGD over params; it fails on settings PyTorch rejects.
func NewSGD(params []*nn.Param, c SGDConfig) (*SGD, error) {
	if c.LR < 0 || c.Momentum < 0 || c.WeightDecay < 0 {
		return nil, fmt.Errorf("sgd: negative setting in %+v", c)
	}
	if c.Nesterov && (c.Momentum <= 0 || c.Dampening != 0) {
		return nil, fmt.Errorf("sgd: Nesterov momentum requires momentum > 0 and zero dampening")
	}
	s := &SGD{Params: params, Config: c, buf: make([][]float32, len(params))}
	if c.Momentum != 0 {
		for i, p := range params {
			s.buf[i] = make([]float32, len(p.Data))
		}
	}
	return s, nil
}

// LR returns the learning rate.
func (s *SGD) LR() float64 { return s.Config.LR }

// SetLR sets the learning rate.
func (s *SGD) SetLR(lr float64) { s.Config.LR = lr }

// ZeroGrad clears the gradients.
func (s *SGD) ZeroGrad() { zeroGrads(s.Params) }

// Step applies one update.
func (s *SGD) Step() {
	c := s.Config
	lr, mom, damp, wd := float32(c.LR), float32(c.Momentum), float32(1-c.Dampening), float32(c.WeightDecay)
	first := s.steps == 0
	s.steps++
	eachParam(s.Params, func(i int, p *nn.Param) {
		buf := s.buf[i]
		for j, g := range p.Grad {
			w := p.Data[j]
			g += wd * w
			if mom != 0 {
				b := g
				if !first {
					b = mom*buf[j] + damp*g
				}
				buf[j] = b
				if c.Nesterov {
					g += mom * b
				} else {
					g = b
				}
			}
			p.Data[j] = w - lr*g
		}
	})
}

// AdamConfig configures Adam and AdamW. Zero Beta1, Beta2 and Eps take
// PyTorch's defaults 0.9, 0.999 and 1e-8.
type AdamConfig struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
	// Decoupled applies weight decay as AdamW does (p *= 1 - lr*wd before
	// the update) instead of adding wd*p to the gradient (Adam's L2).
	Decoupled bool
}

// Adam is torch.optim.Adam (and AdamW with Decoupled): moment estimates m
// and v with bias correction, p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
type Adam struct {
	Params []*nn.Param
	Config AdamConfig
	m, v   [][]float32
	t      int
}

// NewAdam returns Adam (L2 weight decay) over params.
func NewAdam(params []*nn.Param, c AdamConfig) (*Adam, error) {
	if c.Beta1 == 0 {
		c.Beta1 = 0.9
	}
	if c.Beta2 == 0 {
		c.Beta2 = 0.999
	}
	if c.Eps == 0 {
		c.Eps = 1e-8
	}
	if c.LR < 0 || c.WeightDecay < 0 || c.Eps < 0 || c.Beta1 < 0 || c.Beta1 >= 1 || c.Beta2 < 0 || c.Beta2 >= 1 {
		return nil, fmt.Errorf("adam: invalid setting in %+v", c)
	}
	a := &Adam{Params: params, Config: c, m: make([][]float32, len(params)), v: make([][]float32, len(params))}
	for i, p := range params {
		a.m[i] = make([]float32, len(p.Data))
		a.v[i] = make([]float32, len(p.Data))
	}
	return a, nil
}

// NewAdamW returns AdamW (decoupled weight decay; PyTorch's default decay
// is 1e-2) over params.
func NewAdamW(params []*nn.Param, c AdamConfig) (*Adam, error) {
	c.Decoupled = true
	return NewAdam(params, c)
}

// LR returns the learning rate.
func (a *Adam) LR() float64 { return a.Config.LR }

// SetLR sets the learning rate.
func (a *Adam) SetLR(lr float64) { a.Config.LR = lr }

// ZeroGrad clears the gradients.
func (a *Adam) ZeroGrad() { zeroGrads(a.Params) }

// Step applies one update.
func (a *Adam) Step() {
	a.t++
	c := a.Config
	bc1 := 1 - math.Pow(c.Beta1, float64(a.t))
	bc2 := 1 - math.Pow(c.Beta2, float64(a.t))
	step := float32(c.LR / bc1)
	rbc2 := float32(1 / math.Sqrt(bc2))
	b1, b2, eps := float32(c.Beta1), float32(c.Beta2), float32(c.Eps)
	wd := float32(c.WeightDecay)
	decay := float32(1 - c.LR*c.WeightDecay)
	eachParam(a.Params, func(i int, p *nn.Param) {
		m, v := a.m[i], a.v[i]
		for j, g := range p.Grad {
			w := p.Data[j]
			if c.Decoupled {
				w *= decay
			} else {
				g += wd * w
			}
			mj := b1*m[j] + (1-b1)*g
			vj := b2*v[j] + (1-b2)*g*g
			m[j], v[j] = mj, vj
			den := float32(math.Sqrt(float64(vj)))*rbc2 + eps
			p.Data[j] = w - step*mj/den
		}
	})
}
