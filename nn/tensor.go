package nn

import (
	"fmt"

	"github.com/otoseg/otoseg/internal/prefault"
)

// Tensor is a dense float32 array of shape (N, C, D, H, W), stored
// contiguously in that order (PyTorch's NCDHW), W fastest.
// Kernels may repack internally, but every layer takes and returns NCDHW.
type Tensor struct {
	Shape [5]int
	Data  []float32
}

// NewTensor returns a zeroed tensor of the given shape.
func NewTensor(n, c, d, h, w int) *Tensor {
	return &Tensor{Shape: [5]int{n, c, d, h, w}, Data: prefault.Make(n * c * d * h * w)}
}

// Len is the number of elements.
func (t *Tensor) Len() int { return t.Shape[0] * t.Shape[1] * t.Shape[2] * t.Shape[3] * t.Shape[4] }

// Spatial is D*H*W, the number of voxels per channel.
func (t *Tensor) Spatial() int { return t.Shape[2] * t.Shape[3] * t.Shape[4] }

// String describes the shape.
func (t *Tensor) String() string {
	return fmt.Sprintf("Tensor%v", t.Shape)
}

// Reshape makes t hold shape s, reusing its buffer when it is large enough.
// The contents are unspecified afterwards. It is how layers keep their output
// buffers across steps.
func (t *Tensor) Reshape(s [5]int) {
	n := s[0] * s[1] * s[2] * s[3] * s[4]
	if cap(t.Data) >= n {
		t.Data = t.Data[:n]
	} else {
		t.Data = prefault.Make(n)
	}
	t.Shape = s
}

// Ensure returns t reshaped to s, allocating t when it is nil.
func Ensure(t *Tensor, s [5]int) *Tensor {
	if t == nil {
		t = &Tensor{}
	}
	t.Reshape(s)
	return t
}

// Param is a trainable parameter: its values, its accumulated gradient and
// its PyTorch-style shape (e.g. [out, in, 3, 3, 3] for a convolution weight).
type Param struct {
	Name  string
	Shape []int
	Data  []float32
	Grad  []float32
}

// NewParam allocates a zeroed parameter and gradient.
func NewParam(name string, shape ...int) *Param {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return &Param{Name: name, Shape: shape, Data: make([]float32, n), Grad: make([]float32, n)}
}

// ZeroGrad clears the accumulated gradient.
func (p *Param) ZeroGrad() { clear(p.Grad) }

// Layer is one differentiable operation with a single input.
//
// Forward returns the output, which the layer owns and overwrites on the next
// call. When training is true it keeps what Backward needs; when false
// (inference) it may keep nothing and reuse memory more aggressively.
// Backward takes the gradient of the loss with respect to the last output and
// returns the gradient with respect to the last input (owned by the layer),
// adding parameter gradients into Param.Grad.
type Layer interface {
	Forward(x *Tensor, training bool) *Tensor
	Backward(dy *Tensor) *Tensor
	Params() []*Param
}
