package nn

import "fmt"

// Conv3d is a 3-D convolution with a cubic kernel, PyTorch's nn.Conv3d with
// padding = kernel/2 (so kernel 3 stride 1 keeps the size, kernel 3 stride 2
// halves it rounding up, kernel 1 is a per-voxel channel mix).
//
// Weight has PyTorch's shape [out, in, k, k, k] so state dicts carry over
// unchanged; Bias is [out] or nil. Both start at zero: initialise them (for
// example with PyTorch's default, uniform in ±1/sqrt(in*k^3)) before training.
//
// The layer owns its output and input-gradient buffers and its scratch, and
// reuses them across calls, so a training loop allocates nothing after its
// first step.
type Conv3d struct {
	In, Out, Kernel, Stride, Pad int
	Weight, Bias                 *Param

	// NoInputGrad skips the input gradient in Backward (which then returns
	// nil). The first layer of a network sets it: nothing needs the gradient
	// with respect to the image, and it costs a third of the backward pass.
	NoInputGrad bool
	// Threads caps the goroutines the layer uses; 0 means runtime.GOMAXPROCS.
	Threads int
	// Scratch, when set, is working memory shared with other layers that
	// never run at the same time (see ConvScratch); nil keeps a private one.
	Scratch *ConvScratch

	x      *Tensor // input of the last training Forward (not copied)
	y, dx  *Tensor
	engine convEngine
	gen    *genConv // per-axis kernel or stride (NewConv3dAniso); nil when cubic
}

// NewConv3d returns a convolution from in to out channels with a cubic kernel
// of the given size (odd), the given stride and padding kernel/2.
func NewConv3d(in, out, kernel, stride int, bias bool) *Conv3d {
	if in <= 0 || out <= 0 || kernel <= 0 || kernel%2 == 0 || stride <= 0 {
		panic(fmt.Sprintf("nn.NewConv3d: bad configuration in=%d out=%d kernel=%d stride=%d", in, out, kernel, stride))
	}
	c := &Conv3d{In: in, Out: out, Kernel: kernel, Stride: stride, Pad: kernel / 2}
	c.Weight = NewParam("weight", out, in, kernel, kernel, kernel)
	if bias {
		c.Bias = NewParam("bias", out)
	}
	return c
}

// OutShape is the output shape for an input of shape s.
func (c *Conv3d) OutShape(s [5]int) [5]int {
	if c.gen != nil {
		return c.gen.outShape(s, c.Out)
	}
	o := func(n int) int { return (n+2*c.Pad-c.Kernel)/c.Stride + 1 }
	return [5]int{s[0], c.Out, o(s[2]), o(s[3]), o(s[4])}
}

// Params returns the weight and, when present, the bias.
func (c *Conv3d) Params() []*Param {
	if c.Bias != nil {
		return []*Param{c.Weight, c.Bias}
	}
	return []*Param{c.Weight}
}

func (c *Conv3d) geom(s [5]int) convGeom {
	o := c.OutShape(s)
	return convGeom{
		N: s[0], Cin: c.In, Cout: c.Out, K: c.Kernel, S: c.Stride, P: c.Pad,
		ID: s[2], IH: s[3], IW: s[4], OD: o[2], OH: o[3], OW: o[4],
	}
}

// Forward convolves x. In training mode it keeps a reference to x (not a
// copy) for Backward, so x must not change in between.
//
// The input and weight checks panic: a wrong shape here is a bug in the
// network's wiring, not bad data.
func (c *Conv3d) Forward(x *Tensor, training bool) *Tensor {
	c.y = c.forwardInto(x, c.y)
	c.x = nil
	if training {
		c.x = x
	}
	return c.y
}

// Infer is Forward without training into y (reshaped to the output, or
// allocated when nil) instead of the layer's own buffer, which it leaves
// alone: a caller that knows when each activation is last read can share
// buffers between layers (unet's inference pass does). y must not overlap x.
func (c *Conv3d) Infer(x, y *Tensor) *Tensor {
	c.x = nil
	return c.forwardInto(x, y)
}

func (c *Conv3d) forwardInto(x, y *Tensor) *Tensor {
	if x.Shape[1] != c.In {
		panic(fmt.Sprintf("nn.Conv3d: input %v has %d channels, want %d", x.Shape, x.Shape[1], c.In))
	}
	if c.gen != nil {
		return c.forwardGen(x, y)
	}
	g := c.geom(x.Shape)
	if g.OD <= 0 || g.OH <= 0 || g.OW <= 0 {
		panic(fmt.Sprintf("nn.Conv3d: input %v too small for kernel %d stride %d", x.Shape, c.Kernel, c.Stride))
	}
	y = Ensure(y, c.OutShape(x.Shape))
	var b []float32
	if c.Bias != nil {
		b = c.Bias.Data
	}
	c.engine.forward(&g, x.Data, c.Weight.Data, b, y.Data, c.Scratch, c.Threads)
	return y
}

// Backward takes dL/dy for the last training Forward, adds dL/dW and dL/db
// into the parameter gradients and returns dL/dx (nil with NoInputGrad).
func (c *Conv3d) Backward(dy *Tensor) *Tensor {
	if c.x == nil {
		panic("nn.Conv3d: Backward without a training Forward")
	}
	if c.gen != nil {
		return c.backwardGen(dy)
	}
	g := c.geom(c.x.Shape)
	if dy.Shape != c.OutShape(c.x.Shape) {
		panic(fmt.Sprintf("nn.Conv3d: gradient %v does not match output %v", dy.Shape, c.OutShape(c.x.Shape)))
	}
	var db []float32
	if c.Bias != nil {
		db = c.Bias.Grad
	}
	c.engine.backwardWeight(&g, c.x.Data, dy.Data, c.Weight.Grad, db, c.Scratch, c.Threads)
	if c.NoInputGrad {
		return nil
	}
	c.dx = Ensure(c.dx, c.x.Shape)
	c.engine.backwardData(&g, dy.Data, c.Weight.Data, c.dx.Data, c.Scratch, c.Threads)
	return c.dx
}

// ConvTranspose3d is PyTorch's nn.ConvTranspose3d with kernel 2, stride 2
// and bias: each input voxel becomes a 2x2x2 block of output voxels, the
// U-Net's upsampling step. Weight has PyTorch's shape [in, out, 2, 2, 2].
// Weight and Bias start at zero.
type ConvTranspose3d struct {
	In, Out      int
	Weight, Bias *Param
	// Threads caps the goroutines the layer uses; 0 means runtime.GOMAXPROCS.
	Threads int
	// Scratch, when set, is working memory shared with other layers that
	// never run at the same time (see ConvScratch); nil keeps a private one.
	Scratch *ConvScratch

	x      *Tensor
	y, dx  *Tensor
	engine upEngine
	gen    *genUp // per-axis stride (NewConvTranspose3dStride); nil for 2x2x2
}

// NewConvTranspose3d returns a kernel-2 stride-2 transposed convolution from
// in to out channels, with bias.
func NewConvTranspose3d(in, out int) *ConvTranspose3d {
	if in <= 0 || out <= 0 {
		panic(fmt.Sprintf("nn.NewConvTranspose3d: bad configuration in=%d out=%d", in, out))
	}
	return &ConvTranspose3d{In: in, Out: out,
		Weight: NewParam("weight", in, out, 2, 2, 2),
		Bias:   NewParam("bias", out)}
}

// OutShape is the output shape for an input of shape s (each spatial size doubles).
func (c *ConvTranspose3d) OutShape(s [5]int) [5]int {
	if c.gen != nil {
		return c.gen.outShape(s, c.Out)
	}
	return [5]int{s[0], c.Out, 2 * s[2], 2 * s[3], 2 * s[4]}
}

// Params returns the weight and the bias.
func (c *ConvTranspose3d) Params() []*Param { return []*Param{c.Weight, c.Bias} }

// Forward upsamples x. In training mode it keeps a reference to x.
func (c *ConvTranspose3d) Forward(x *Tensor, training bool) *Tensor {
	c.y = c.forwardInto(x, c.y)
	c.x = nil
	if training {
		c.x = x
	}
	return c.y
}

// Infer is Forward without training into y (reshaped to the output, or
// allocated when nil) instead of the layer's own buffer, as Conv3d.Infer.
func (c *ConvTranspose3d) Infer(x, y *Tensor) *Tensor {
	c.x = nil
	return c.forwardInto(x, y)
}

func (c *ConvTranspose3d) forwardInto(x, y *Tensor) *Tensor {
	if x.Shape[1] != c.In {
		panic(fmt.Sprintf("nn.ConvTranspose3d: input %v has %d channels, want %d", x.Shape, x.Shape[1], c.In))
	}
	if c.gen != nil {
		return c.forwardGen(x, y)
	}
	y = Ensure(y, c.OutShape(x.Shape))
	c.engine.forward(x, c.Weight.Data, c.Bias.Data, y, c.Scratch, c.Threads)
	return y
}

// Backward takes dL/dy for the last training Forward, adds dL/dW and dL/db
// into the parameter gradients and returns dL/dx.
func (c *ConvTranspose3d) Backward(dy *Tensor) *Tensor {
	if c.x == nil {
		panic("nn.ConvTranspose3d: Backward without a training Forward")
	}
	if c.gen != nil {
		return c.backwardGen(dy)
	}
	if dy.Shape != c.OutShape(c.x.Shape) {
		panic(fmt.Sprintf("nn.ConvTranspose3d: gradient %v does not match output %v", dy.Shape, c.OutShape(c.x.Shape)))
	}
	c.dx = Ensure(c.dx, c.x.Shape)
	c.engine.backward(c.x, dy, c.Weight.Data, c.Weight.Grad, c.Bias.Grad, c.dx, c.Scratch, c.Threads)
	return c.dx
}
