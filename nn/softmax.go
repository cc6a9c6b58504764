package nn

import (
	"fmt"
	"math"
)

// Softmax is softmax over the channel axis (dim 1 of NCDHW), applied at
// every voxel: class probabilities from logits.
type Softmax struct {
	y, dx   *Tensor
	trained bool
}

// Params returns nil.
func (s *Softmax) Params() []*Param { return nil }

// Forward returns the probabilities (owned by s).
func (s *Softmax) Forward(x *Tensor, training bool) *Tensor {
	s.y = Ensure(s.y, x.Shape)
	SoftmaxChannels(s.y, x)
	s.trained = training
	return s.y
}

// Backward returns dL/dx = y * (dy - sum_c y_c dy_c).
func (s *Softmax) Backward(dy *Tensor) *Tensor {
	if !s.trained {
		panic("nn.Softmax: Backward without a training Forward")
	}
	if dy.Shape != s.y.Shape {
		panic(fmt.Sprintf("nn.Softmax: gradient %v does not match output %v", dy.Shape, s.y.Shape))
	}
	s.dx = Ensure(s.dx, dy.Shape)
	softmaxBackward(s.dx, s.y, dy)
	return s.dx
}

// voxelBlock is how many voxels one softmax job handles.
const voxelBlock = 4096

// SoftmaxChannels writes softmax(x) over channels into dst (same shape).
func SoftmaxChannels(dst, x *Tensor) {
	softmaxLSE(dst, x, nil)
}

// softmaxLSE writes softmax(x) into dst and, when lse is not nil, the
// log-sum-exp of each voxel's logits into lse (length N*D*H*W), which the
// cross-entropy needs to stay finite for confident wrong predictions.
func softmaxLSE(dst, x *Tensor, lse []float32) {
	N, C, S := x.Shape[0], x.Shape[1], x.Spatial()
	blocks := (S + voxelBlock - 1) / voxelBlock
	splitJobs(0, N*blocks, C*voxelBlock*3, func(job int) {
		n, b := job/blocks, job%blocks
		lo, hi := b*voxelBlock, min((b+1)*voxelBlock, S)
		base := n * C * S
		for v := lo; v < hi; v++ {
			m := x.Data[base+v]
			for c := 1; c < C; c++ {
				m = max(m, x.Data[base+c*S+v])
			}
			var sum float32
			for c := range C {
				e := float32(math.Exp(float64(x.Data[base+c*S+v] - m)))
				dst.Data[base+c*S+v] = e
				sum += e
			}
			inv := 1 / sum
			for c := range C {
				dst.Data[base+c*S+v] *= inv
			}
			if lse != nil {
				lse[n*S+v] = m + float32(math.Log(float64(sum)))
			}
		}
	})
}

// softmaxBackward writes dx = y * (dy - sum_c y_c dy_c) at every voxel.
func softmaxBackward(dx, y, dy *Tensor) {
	N, C, S := y.Shape[0], y.Shape[1], y.Spatial()
	blocks := (S + voxelBlock - 1) / voxelBlock
	splitJobs(0, N*blocks, C*voxelBlock*3, func(job int) {
		n, b := job/blocks, job%blocks
		lo, hi := b*voxelBlock, min((b+1)*voxelBlock, S)
		base := n * C * S
		for v := lo; v < hi; v++ {
			var dot float32
			for c := range C {
				dot += y.Data[base+c*S+v] * dy.Data[base+c*S+v]
			}
			for c := range C {
				i := base + c*S + v
				dx.Data[i] = y.Data[i] * (dy.Data[i] - dot)
			}
		}
	})
}
