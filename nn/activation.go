package nn

import (
	"fmt"
	"math"
)

// LeakyReLU is PyTorch's nn.LeakyReLU(slope): x for x > 0, slope*x
// otherwise. With slope 0 it is ReLU. nnU-Net uses slope 0.01.
//
// Backward needs only the layer's own output: for slope >= 0, y > 0 exactly
// when x > 0, so the layer keeps no reference to its input.
type LeakyReLU struct {
	Slope float32
	// Threads caps the goroutines the layer uses; 0 means GOMAXPROCS.
	Threads int

	y, dx   *Tensor
	trained bool
}

// NewLeakyReLU returns LeakyReLU with the given negative slope (>= 0).
func NewLeakyReLU(slope float32) *LeakyReLU {
	if slope < 0 {
		panic(fmt.Sprintf("nn.NewLeakyReLU: negative slope %v is not supported", slope))
	}
	return &LeakyReLU{Slope: slope}
}

// NewReLU returns ReLU (LeakyReLU with slope 0).
func NewReLU() *LeakyReLU { return &LeakyReLU{} }

// Params returns nil: the activation has no parameters.
func (l *LeakyReLU) Params() []*Param { return nil }

// Forward applies the activation.
func (l *LeakyReLU) Forward(x *Tensor, training bool) *Tensor {
	l.y = Ensure(l.y, x.Shape)
	s := l.Slope
	splitJobs(l.Threads, x.Shape[0]*x.Shape[1], x.Spatial(), func(j int) {
		n := x.Spatial()
		affineAct(l.y.Data[j*n:(j+1)*n], x.Data[j*n:(j+1)*n], 1, 0, s, true)
	})
	l.trained = training
	return l.y
}

// Backward returns dL/dx.
func (l *LeakyReLU) Backward(dy *Tensor) *Tensor {
	if !l.trained {
		panic("nn.LeakyReLU: Backward without a training Forward")
	}
	if dy.Shape != l.y.Shape {
		panic(fmt.Sprintf("nn.LeakyReLU: gradient %v does not match output %v", dy.Shape, l.y.Shape))
	}
	l.dx = Ensure(l.dx, dy.Shape)
	s := l.Slope
	splitJobs(l.Threads, dy.Shape[0]*dy.Shape[1], dy.Spatial(), func(j int) {
		n := dy.Spatial()
		ys, ds, dxs := l.y.Data[j*n:(j+1)*n], dy.Data[j*n:(j+1)*n], l.dx.Data[j*n:(j+1)*n]
		ds, dxs = ds[:len(ys)], dxs[:len(ys)]
		one := math.Float32bits(1)
		ox := one ^ math.Float32bits(s)
		for i, y := range ys {
			dxs[i] = ds[i] * slopeOf(y, one, ox)
		}
	})
	return l.dx
}
