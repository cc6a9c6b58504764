package nn

import "fmt"

// LeakyReLU is PyTorch's nn.LeakyReLU(slope): x for x > 0, slope*x
// otherwise. With slope 0 it is ReLU. nnU-Net uses slope 0.01.
//
// Backward needs only the layer's own output: for slope >= 0, y > 0 exactly
// when x > 0, so the layer keeps no reference to its input.
type LeakyReLU struct {
	Slope float32

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
	splitJobs(x.Shape[0]*x.Shape[1], x.Spatial(), func(j int) {
		n := x.Spatial()
		xs, ys := x.Data[j*n:(j+1)*n], l.y.Data[j*n:(j+1)*n]
		for i, v := range xs {
			if v <= 0 {
				v *= s
			}
			ys[i] = v
		}
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
	splitJobs(dy.Shape[0]*dy.Shape[1], dy.Spatial(), func(j int) {
		n := dy.Spatial()
		ys, ds, dxs := l.y.Data[j*n:(j+1)*n], dy.Data[j*n:(j+1)*n], l.dx.Data[j*n:(j+1)*n]
		for i, y := range ys {
			d := ds[i]
			if y <= 0 {
				d *= s
			}
			dxs[i] = d
		}
	})
	return l.dx
}
