package nn

import (
	"fmt"
	"math"

	"github.com/otoseg/otoseg/internal/prefault"
)

// InstanceNorm3d is PyTorch's nn.InstanceNorm3d(c, eps, affine=True): each
// channel of each sample is shifted to mean 0 and scaled to variance 1 (the
// biased variance, eps inside the square root), then scaled by Weight[c] and
// shifted by Bias[c]. Statistics are always those of the current input,
// in training and in inference alike (track_running_stats=False, as nnU-Net).
//
// With LeakySlope set by NewInstanceNormLeakyReLU the layer also applies
// LeakyReLU(slope) to its output, in the same pass: nnU-Net follows every
// convolution by exactly this pair, and fusing them saves one full read and
// write of the activation in each direction and the activation's own buffer.
//
// In training mode the layer keeps a reference to its input (not a copy) and
// recomputes the normalised values in Backward, so the input must not change
// in between; it stores only a mean and a reciprocal deviation per channel.
type InstanceNorm3d struct {
	C            int
	Eps          float64
	Weight, Bias *Param
	// Fused says a LeakyReLU with negative slope LeakySlope follows the norm.
	Fused      bool
	LeakySlope float32
	// InPlaceInference makes Forward with training=false write its output
	// over its input and return the input tensor, saving a buffer of the
	// activation's size. Only for callers (like the U-Net) that never read
	// that input again.
	InPlaceInference bool
	// Threads caps the goroutines the layer uses; 0 means GOMAXPROCS.
	Threads int

	x          *Tensor
	y, dx      *Tensor
	mean, rstd []float32
	dw, db     []float64
}

// NewInstanceNorm3d returns an affine instance norm over c channels with eps
// 1e-5, weight 1 and bias 0 (PyTorch's defaults).
func NewInstanceNorm3d(c int) *InstanceNorm3d {
	if c <= 0 {
		panic(fmt.Sprintf("nn.NewInstanceNorm3d: bad channel count %d", c))
	}
	n := &InstanceNorm3d{C: c, Eps: 1e-5, Weight: NewParam("weight", c), Bias: NewParam("bias", c)}
	for i := range n.Weight.Data {
		n.Weight.Data[i] = 1
	}
	return n
}

// NewInstanceNormLeakyReLU returns InstanceNorm3d followed by
// LeakyReLU(slope), fused into one layer.
func NewInstanceNormLeakyReLU(c int, slope float32) *InstanceNorm3d {
	n := NewInstanceNorm3d(c)
	n.Fused, n.LeakySlope = true, slope
	return n
}

// Params returns the weight (scale) and bias (shift).
func (n *InstanceNorm3d) Params() []*Param { return []*Param{n.Weight, n.Bias} }

// Forward normalises x (and activates, when fused).
func (n *InstanceNorm3d) Forward(x *Tensor, training bool) *Tensor {
	if x.Shape[1] != n.C {
		panic(fmt.Sprintf("nn.InstanceNorm3d: input %v has %d channels, want %d", x.Shape, x.Shape[1], n.C))
	}
	nc := x.Shape[0] * n.C
	S := x.Spatial()
	var y *Tensor
	if !training && n.InPlaceInference {
		y = x
	} else {
		n.y = Ensure(n.y, x.Shape)
		y = n.y
	}
	n.mean = growF32(n.mean, nc)
	n.rstd = growF32(n.rstd, nc)
	slope := float32(1)
	if n.Fused {
		slope = n.LeakySlope
	}
	splitJobs(n.Threads, nc, 3*S, func(j int) {
		c := j % n.C
		xs := x.Data[j*S : (j+1)*S]
		ys := y.Data[j*S : (j+1)*S]
		mean, varc := meanVar(xs)
		rstd := 1 / math.Sqrt(varc+n.Eps)
		n.mean[j], n.rstd[j] = float32(mean), float32(rstd)
		a := float32(float64(n.Weight.Data[c]) * rstd)
		b := float32(float64(n.Bias.Data[c]) - mean*float64(a))
		affineAct(ys, xs, a, b, slope, n.Fused)
	})
	if training {
		n.x = x
	} else {
		n.x = nil
	}
	return y
}

// Backward returns dL/dx and adds dL/dWeight and dL/dBias.
func (n *InstanceNorm3d) Backward(dy *Tensor) *Tensor {
	x := n.x
	if x == nil {
		panic("nn.InstanceNorm3d: Backward without a training Forward")
	}
	if dy.Shape != x.Shape {
		panic(fmt.Sprintf("nn.InstanceNorm3d: gradient %v does not match output %v", dy.Shape, x.Shape))
	}
	nc := x.Shape[0] * n.C
	S := x.Spatial()
	n.dx = Ensure(n.dx, x.Shape)
	n.dw = growF64(n.dw, nc)
	n.db = growF64(n.db, nc)
	slope := n.LeakySlope
	splitJobs(n.Threads, nc, 4*S, func(j int) {
		c := j % n.C
		xs := x.Data[j*S : (j+1)*S]
		ds := dy.Data[j*S : (j+1)*S]
		dxs := n.dx.Data[j*S : (j+1)*S]
		mean, rstd := n.mean[j], n.rstd[j]
		g, b := n.Weight.Data[c], n.Bias.Data[c]
		// Pass 1: the two reductions, sum(d) and sum(d*xhat), where d is
		// the gradient reaching the affine output (after the activation's
		// slope when fused). Pass 2: dx = g*rstd*(d - mean(d) - xhat*mean(d*xhat)).
		s1, s2 := normGradSums(xs, ds, mean, rstd, g, b, slope, n.Fused)
		n.dw[j], n.db[j] = s2, s1
		normGradApply(dxs, xs, ds, mean, rstd, g, b, slope, g*rstd,
			float32(s1/float64(S)), float32(s2/float64(S)), n.Fused)
	})
	for j := range nc {
		c := j % n.C
		n.Weight.Grad[c] += float32(n.dw[j])
		n.Bias.Grad[c] += float32(n.db[j])
	}
	return n.dx
}

// growF32 returns s resized to n, reusing its storage when it is big
// enough; new large buffers come backed (prefault.Make), since a network's
// first pass otherwise pays a page fault per 4 KiB of scratch.
func growF32(s []float32, n int) []float32 {
	if cap(s) >= n {
		return s[:n]
	}
	return prefault.Make(n)
}

func growF64(s []float64, n int) []float64 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]float64, n)
}
