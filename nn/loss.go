package nn

import (
	"fmt"
	"math"
)

// Labels is an integer label map of shape (N, D, H, W), stored like a Tensor
// without its channel axis: the target of a segmentation loss. Class 0 is
// background.
type Labels struct {
	Shape [4]int
	Data  []uint8
}

// NewLabels returns a zeroed label map.
func NewLabels(n, d, h, w int) *Labels {
	return &Labels{Shape: [4]int{n, d, h, w}, Data: make([]uint8, n*d*h*w)}
}

// Loss is a segmentation loss on logits of shape (N, C, D, H, W) against a
// label map of shape (N, D, H, W).
//
// Forward returns the loss and keeps what Backward needs; it fails when the
// shapes disagree or a label is not below C. Backward returns dLoss/dlogits
// for the last Forward, in a buffer the loss owns and reuses.
type Loss interface {
	Forward(logits *Tensor, target *Labels) (float64, error)
	Backward() *Tensor
}

func checkTarget(logits *Tensor, target *Labels) error {
	s := logits.Shape
	if target.Shape != [4]int{s[0], s[2], s[3], s[4]} {
		return fmt.Errorf("loss: target shape %v does not match logits %v", target.Shape, s)
	}
	if len(target.Data) != s[0]*logits.Spatial() {
		return fmt.Errorf("loss: target holds %d labels, shape %v needs %d", len(target.Data), target.Shape, s[0]*logits.Spatial())
	}
	C := s[1]
	for i, l := range target.Data {
		if int(l) >= C {
			return fmt.Errorf("loss: label %d at index %d is not below the %d classes of the logits", l, i, C)
		}
	}
	return nil
}

// CrossEntropyLoss is nn.CrossEntropyLoss() on a label map: the mean over
// all voxels of all samples of -log softmax(logits)[label].
type CrossEntropyLoss struct {
	p, grad *Tensor
	lse     []float32
	target  *Labels
}

// Forward returns the mean cross-entropy.
func (l *CrossEntropyLoss) Forward(logits *Tensor, target *Labels) (float64, error) {
	if err := checkTarget(logits, target); err != nil {
		return 0, err
	}
	l.p = Ensure(l.p, logits.Shape)
	l.lse = growF32(l.lse, len(target.Data))
	softmaxLSE(l.p, logits, l.lse)
	l.target = target
	return crossEntropy(logits, l.lse, target), nil
}

// crossEntropy is the mean of lse - logit[label], which stays finite where
// a probability underflows to zero.
func crossEntropy(x *Tensor, lse []float32, target *Labels) float64 {
	C, S := x.Shape[1], x.Spatial()
	var sum float64
	for n := range x.Shape[0] {
		for v := range S {
			i := n*S + v
			sum += float64(lse[i] - x.Data[(n*C+int(target.Data[i]))*S+v])
		}
	}
	return sum / float64(len(target.Data))
}

// Backward returns (softmax - onehot) / voxels.
func (l *CrossEntropyLoss) Backward() *Tensor {
	if l.target == nil {
		panic("nn.CrossEntropyLoss: Backward without Forward")
	}
	l.grad = Ensure(l.grad, l.p.Shape)
	segGrad(l.grad, l.p, l.target, 1/float64(len(l.target.Data)), nil, nil)
	return l.grad
}

// SoftDiceLoss is nnU-Net's MemoryEfficientSoftDiceLoss with do_bg=False and
// smooth 1e-5, applied to softmax(logits): for each foreground class c,
//
//	dc = (2*sum(p*y) + smooth) / max(sum(p) + sum(y) + smooth, 1e-8)
//
// and the loss is -mean(dc). With BatchDice the sums run over the whole
// batch and the mean is over classes (nnU-Net's batch_dice=True, its 3d_fullres
// default); otherwise each sample has its own dc and the mean is over
// samples and classes. The loss lies in [-1, 0].
type SoftDiceLoss struct {
	BatchDice bool
	Smooth    float64

	p, grad *Tensor
	target  *Labels
	// Per (sample, class) the gradient w.r.t. p is a*y + b.
	a, b              []float32
	inter, psum, gsum []float64
}

// NewSoftDiceLoss returns the soft Dice loss with smooth 1e-5.
func NewSoftDiceLoss(batchDice bool) *SoftDiceLoss {
	return &SoftDiceLoss{BatchDice: batchDice, Smooth: 1e-5}
}

// Forward returns -mean(dc).
func (l *SoftDiceLoss) Forward(logits *Tensor, target *Labels) (float64, error) {
	if err := checkTarget(logits, target); err != nil {
		return 0, err
	}
	if logits.Shape[1] < 2 {
		return 0, fmt.Errorf("loss: soft Dice without background needs at least 2 classes, logits have %d", logits.Shape[1])
	}
	l.p = Ensure(l.p, logits.Shape)
	SoftmaxChannels(l.p, logits)
	l.target = target
	return l.fromProb(l.p, target, 1), nil
}

// fromProb computes the loss from probabilities and the coefficients of its
// gradient (scaled by w).
func (l *SoftDiceLoss) fromProb(p *Tensor, target *Labels, w float64) float64 {
	N, C, S := p.Shape[0], p.Shape[1], p.Spatial()
	l.inter = growF64(l.inter, N*C)
	l.psum = growF64(l.psum, N*C)
	l.gsum = growF64(l.gsum, N*C)
	splitJobs(0, N*(C-1), 2*S, func(j int) {
		n, c := j/(C-1), j%(C-1)+1
		ps := p.Data[(n*C+c)*S : (n*C+c+1)*S]
		ts := target.Data[n*S : (n+1)*S]
		var in, pp float64
		var g int
		var ai, ap float32
		for v, pv := range ps {
			ap += pv
			if int(ts[v]) == c {
				ai += pv
				g++
			}
			if v&1023 == 1023 {
				in += float64(ai)
				pp += float64(ap)
				ai, ap = 0, 0
			}
		}
		l.inter[n*C+c] = in + float64(ai)
		l.psum[n*C+c] = pp + float64(ap)
		l.gsum[n*C+c] = float64(g)
	})
	if l.BatchDice {
		for n := 1; n < N; n++ {
			for c := 1; c < C; c++ {
				l.inter[c] += l.inter[n*C+c]
				l.psum[c] += l.psum[n*C+c]
				l.gsum[c] += l.gsum[n*C+c]
			}
		}
	}
	groups := N
	if l.BatchDice {
		groups = 1
	}
	k := float64(groups * (C - 1))
	l.a = growF32(l.a, N*C)
	l.b = growF32(l.b, N*C)
	var sum float64
	for n := range groups {
		for c := 1; c < C; c++ {
			i := n*C + c
			num := 2*l.inter[i] + l.Smooth
			den := l.psum[i] + l.gsum[i] + l.Smooth
			if den < 1e-8 {
				den = 1e-8
			}
			sum += num / den
			// d(-dc/k)/dp = -(2y/den - num/den^2)/k
			l.a[i] = float32(-w * 2 / (den * k))
			l.b[i] = float32(w * num / (den * den * k))
		}
	}
	if l.BatchDice {
		for n := 1; n < N; n++ {
			copy(l.a[n*C:(n+1)*C], l.a[:C])
			copy(l.b[n*C:(n+1)*C], l.b[:C])
		}
	}
	return -sum / k
}

// Backward returns the gradient through the softmax.
func (l *SoftDiceLoss) Backward() *Tensor {
	if l.target == nil {
		panic("nn.SoftDiceLoss: Backward without Forward")
	}
	l.grad = Ensure(l.grad, l.p.Shape)
	segGrad(l.grad, l.p, l.target, 0, l.a, l.b)
	return l.grad
}

// DiceCELoss is nnU-Net's DC_and_CE_loss: WeightCE * cross-entropy +
// WeightDice * soft Dice, both on one softmax. nnU-Net weighs both 1.
type DiceCELoss struct {
	WeightCE, WeightDice float64
	Dice                 SoftDiceLoss
	CE                   CrossEntropyLoss

	// LastCE and LastDice are the two terms of the last Forward, unweighted.
	LastCE, LastDice float64
	grad             *Tensor
}

// NewDiceCELoss returns nnU-Net's default loss: Dice (smooth 1e-5, no
// background) + cross-entropy, weight 1 each.
func NewDiceCELoss(batchDice bool) *DiceCELoss {
	return &DiceCELoss{WeightCE: 1, WeightDice: 1, Dice: *NewSoftDiceLoss(batchDice)}
}

// Forward returns WeightCE*CE + WeightDice*Dice.
func (l *DiceCELoss) Forward(logits *Tensor, target *Labels) (float64, error) {
	if err := checkTarget(logits, target); err != nil {
		return 0, err
	}
	if logits.Shape[1] < 2 {
		return 0, fmt.Errorf("loss: Dice+CE needs at least 2 classes, logits have %d", logits.Shape[1])
	}
	ce := &l.CE
	ce.p = Ensure(ce.p, logits.Shape)
	ce.lse = growF32(ce.lse, len(target.Data))
	softmaxLSE(ce.p, logits, ce.lse)
	ce.target = target
	l.LastCE = crossEntropy(logits, ce.lse, target)
	l.LastDice = l.Dice.fromProb(ce.p, target, l.WeightDice)
	l.Dice.target = target
	return l.WeightCE*l.LastCE + l.WeightDice*l.LastDice, nil
}

// Backward returns the gradient of the weighted sum.
func (l *DiceCELoss) Backward() *Tensor {
	p, target := l.CE.p, l.CE.target
	if target == nil {
		panic("nn.DiceCELoss: Backward without Forward")
	}
	l.grad = Ensure(l.grad, p.Shape)
	var a, b []float32
	if l.WeightDice != 0 {
		a, b = l.Dice.a, l.Dice.b
	}
	segGrad(l.grad, p, target, l.WeightCE/float64(len(target.Data)), a, b)
	return l.grad
}

// segGrad writes the gradient w.r.t. the logits of
//
//	ce*sum(CE terms) + dice-part
//
// where the dice part's gradient w.r.t. p[n,c,v] (c >= 1) is
// a[n,c]*[label==c] + b[n,c], pushed through the softmax Jacobian:
// dx_c = p_c*(g_c - sum_k p_k g_k). The cross-entropy part is
// ce*(p_c - [label==c]).
func segGrad(dx, p *Tensor, target *Labels, ce float64, a, b []float32) {
	N, C, S := p.Shape[0], p.Shape[1], p.Spatial()
	cw := float32(ce)
	blocks := (S + voxelBlock - 1) / voxelBlock
	splitJobs(0, N*blocks, C*voxelBlock*3, func(job int) {
		n, blk := job/blocks, job%blocks
		lo, hi := blk*voxelBlock, min((blk+1)*voxelBlock, S)
		base := n * C * S
		var an, bn []float32
		if a != nil {
			an, bn = a[n*C:(n+1)*C], b[n*C:(n+1)*C]
		}
		for v := lo; v < hi; v++ {
			lab := int(target.Data[n*S+v])
			var dot float32
			if an != nil {
				for c := 1; c < C; c++ {
					g := bn[c]
					if c == lab {
						g += an[c]
					}
					dot += p.Data[base+c*S+v] * g
				}
			}
			for c := range C {
				i := base + c*S + v
				pc := p.Data[i]
				var d float32
				if an != nil {
					var g float32
					if c > 0 {
						g = bn[c]
						if c == lab {
							g += an[c]
						}
					}
					d = pc * (g - dot)
				}
				if cw != 0 {
					t := pc
					if c == lab {
						t -= 1
					}
					d += cw * t
				}
				dx.Data[i] = d
			}
		}
	})
}

// DeepSupervisionWeights returns nnU-Net's weights for n outputs, highest
// resolution first: 1/2^i, the lowest-resolution output weighted 0, the
// rest normalised to sum 1. A single output gets weight 1.
func DeepSupervisionWeights(n int) []float64 {
	w := make([]float64, n)
	if n == 1 {
		w[0] = 1
		return w
	}
	var sum float64
	for i := range n - 1 {
		w[i] = 1 / math.Pow(2, float64(i))
		sum += w[i]
	}
	for i := range w {
		w[i] /= sum
	}
	return w
}

// DeepSupervisionLoss sums a loss over the outputs of a network with deep
// supervision (highest resolution first), each against the target
// downsampled to its size with DownsampleLabels, weighted by Weights.
type DeepSupervisionLoss struct {
	Weights []float64
	Levels  []Loss
	// LastLevels holds each level's unweighted loss from the last Forward.
	LastLevels []float64

	targets []*Labels
	grads   []*Tensor
}

// NewDeepSupervisionLoss returns the loss for n outputs, with nnU-Net's
// weights and a fresh newLoss() per output.
func NewDeepSupervisionLoss(n int, newLoss func() Loss) *DeepSupervisionLoss {
	d := &DeepSupervisionLoss{Weights: DeepSupervisionWeights(n), LastLevels: make([]float64, n)}
	for range n {
		d.Levels = append(d.Levels, newLoss())
	}
	d.targets = make([]*Labels, n)
	d.grads = make([]*Tensor, n)
	return d
}

// Forward returns the weighted sum of the level losses. target has the
// highest resolution; levels with weight 0 are skipped.
func (d *DeepSupervisionLoss) Forward(logits []*Tensor, target *Labels) (float64, error) {
	if len(logits) != len(d.Levels) {
		return 0, fmt.Errorf("loss: %d outputs for a deep-supervision loss over %d", len(logits), len(d.Levels))
	}
	var sum float64
	for i, x := range logits {
		d.LastLevels[i] = 0
		if d.Weights[i] == 0 {
			continue
		}
		t := target
		want := [4]int{x.Shape[0], x.Shape[2], x.Shape[3], x.Shape[4]}
		if target.Shape != want {
			if d.targets[i] == nil {
				d.targets[i] = &Labels{}
			}
			t = d.targets[i]
			if err := DownsampleLabels(t, target, want); err != nil {
				return 0, err
			}
		}
		l, err := d.Levels[i].Forward(x, t)
		if err != nil {
			return 0, fmt.Errorf("deep supervision output %d: %w", i, err)
		}
		d.LastLevels[i] = l
		sum += d.Weights[i] * l
	}
	return sum, nil
}

// Backward returns the weighted gradient for each output; nil for outputs
// with weight 0 (their gradient is zero).
func (d *DeepSupervisionLoss) Backward() []*Tensor {
	for i, l := range d.Levels {
		d.grads[i] = nil
		if d.Weights[i] == 0 {
			continue
		}
		g := l.Backward()
		w := float32(d.Weights[i])
		for j := range g.Data {
			g.Data[j] *= w
		}
		d.grads[i] = g
	}
	return d.grads
}

// DownsampleLabels resizes src to shape s (N must agree) by nearest
// neighbour, PyTorch's interpolate(mode="nearest-exact") as nnU-Net's
// DownsampleSegForDSTransform uses: output index o reads input index
// floor((o+0.5)*in/out). For a factor of 2 that is voxel 2o+1.
func DownsampleLabels(dst, src *Labels, s [4]int) error {
	if s[0] != src.Shape[0] {
		return fmt.Errorf("labels: cannot resize batch %d to %d", src.Shape[0], s[0])
	}
	for i := 1; i < 4; i++ {
		if s[i] <= 0 || s[i] > src.Shape[i] {
			return fmt.Errorf("labels: cannot downsample %v to %v", src.Shape, s)
		}
	}
	n := s[0] * s[1] * s[2] * s[3]
	if cap(dst.Data) >= n {
		dst.Data = dst.Data[:n]
	} else {
		dst.Data = make([]uint8, n)
	}
	dst.Shape = s
	idx := func(o, out, in int) int {
		return min(int((float64(o)+0.5)*float64(in)/float64(out)), in-1)
	}
	_, D, H, W := src.Shape[0], src.Shape[1], src.Shape[2], src.Shape[3]
	for b := range s[0] {
		for z := range s[1] {
			zi := idx(z, s[1], D)
			for y := range s[2] {
				yi := idx(y, s[2], H)
				row := src.Data[((b*D+zi)*H+yi)*W:]
				out := dst.Data[((b*s[1]+z)*s[2]+y)*s[3]:]
				for x := range s[3] {
					out[x] = row[idx(x, s[3], W)]
				}
			}
		}
	}
	return nil
}
