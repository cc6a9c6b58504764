// Package unet is otoseg's segmentation network: nnU-Net's PlainConvUNet
// (Isensee et al. 2021, dynamic_network_architectures) built on package nn.
//
// Each stage is ConvsPerStage 3x3x3 convolutions (or the per-stage kernels
// and strides of an imported nnU-Net plan, Config.Kernels), each followed by
// InstanceNorm (eps 1e-5, affine) and LeakyReLU(0.01). Every stage after the
// first starts with a stride-2 convolution (the downsampling); the decoder
// upsamples with a kernel-2 stride-2 transposed convolution, concatenates
// the encoder's output at that resolution (upsampled first, skip second) and
// runs a stage of its own. A 1x1x1 convolution head per decoder stage gives
// logits; with deep supervision every head is used, highest resolution first.
//
// Parameter names mirror the PyTorch module (encoder.stages.0.0.convs.0.conv.weight,
// decoder.transpconvs.0.weight, decoder.seg_layers.0.weight, ...), so weights
// move between otoseg and PyTorch through safetensors unchanged.
package unet

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/otoseg/otoseg/nn"
)

// Config describes a network. It is stored as JSON in the weights file's
// metadata ("architecture") and in a model's plans, so a weights file says
// which network it belongs to.
type Config struct {
	InChannels int `json:"in_channels"`
	NumClasses int `json:"num_classes"`
	// Features is the channel count of each stage, highest resolution
	// first; its length is the number of stages (resolutions).
	Features      []int `json:"features"`
	ConvsPerStage int   `json:"convs_per_stage"`
	// DeepSupervision makes Forward return logits from every decoder stage
	// instead of only the last.
	DeepSupervision bool    `json:"deep_supervision"`
	NegativeSlope   float64 `json:"negative_slope"`
	NormEps         float64 `json:"norm_eps"`
	// Kernels and Strides, when set, give each stage's convolution kernel
	// and its first convolution's stride per axis (d, h, w), as nnU-Net
	// plans them (kernel_sizes, strides; 1x3x3 and 1x2x2 for thick slices).
	// Unset, every kernel is 3x3x3 and every stage after the first halves
	// the size: otoseg's own networks, whose stored JSON stays as it was.
	Kernels [][3]int `json:"kernels,omitempty"`
	Strides [][3]int `json:"strides,omitempty"`
}

// stageKernel is stage s's kernel per axis.
func (c Config) stageKernel(s int) [3]int {
	if c.Kernels != nil {
		return c.Kernels[s]
	}
	return [3]int{3, 3, 3}
}

// stageStride is the stride of stage s's first convolution per axis.
func (c Config) stageStride(s int) [3]int {
	switch {
	case c.Strides != nil:
		return c.Strides[s]
	case s == 0:
		return [3]int{1, 1, 1}
	}
	return [3]int{2, 2, 2}
}

// Divisors is, per axis (d, h, w), the factor every spatial input size
// must be a multiple of: the product of the strides, so each downsampling
// divides exactly and the transposed convolutions restore the skip's size.
func (c Config) Divisors() [3]int {
	d := [3]int{1, 1, 1}
	for s := range c.Features {
		st := c.stageStride(s)
		for a := range 3 {
			d[a] *= st[a]
		}
	}
	return d
}

// DefaultConfig is otoseg's baseline network: one CT channel, background and
// the three labyrinth labels, 5 stages of 16-32-64-128-256 features, nnU-Net's
// other settings.
func DefaultConfig() Config {
	return Config{
		InChannels: 1, NumClasses: 4,
		Features:        []int{16, 32, 64, 128, 256},
		ConvsPerStage:   2,
		DeepSupervision: true,
		NegativeSlope:   0.01,
		NormEps:         1e-5,
	}
}

// maxFeatures caps channel counts read from files (nnU-Net caps at 320).
const maxFeatures = 4096

// Validate reports settings that cannot build a network.
func (c Config) Validate() error {
	switch {
	case c.InChannels < 1 || c.InChannels > maxFeatures:
		return fmt.Errorf("unet: in_channels %d out of range 1..%d", c.InChannels, maxFeatures)
	case c.NumClasses < 2 || c.NumClasses > 256:
		return fmt.Errorf("unet: num_classes %d out of range 2..256", c.NumClasses)
	case len(c.Features) < 2 || len(c.Features) > 8:
		return fmt.Errorf("unet: %d stages, want 2..8", len(c.Features))
	case c.ConvsPerStage < 1 || c.ConvsPerStage > 8:
		return fmt.Errorf("unet: convs_per_stage %d out of range 1..8", c.ConvsPerStage)
	case c.NegativeSlope < 0 || c.NegativeSlope >= 1:
		return fmt.Errorf("unet: negative_slope %v out of range [0, 1)", c.NegativeSlope)
	case c.NormEps <= 0 || c.NormEps > 1:
		return fmt.Errorf("unet: norm_eps %v out of range (0, 1]", c.NormEps)
	}
	for i, f := range c.Features {
		if f < 1 || f > maxFeatures {
			return fmt.Errorf("unet: features[%d] = %d out of range 1..%d", i, f, maxFeatures)
		}
	}
	return c.validateGeometry()
}

// validateGeometry checks per-stage kernels and strides when they are set.
func (c Config) validateGeometry() error {
	if (c.Kernels == nil) != (c.Strides == nil) {
		return errors.New("unet: kernels and strides must be given together")
	}
	if c.Kernels == nil {
		return nil
	}
	if len(c.Kernels) != len(c.Features) || len(c.Strides) != len(c.Features) {
		return fmt.Errorf("unet: %d kernels and %d strides for %d stages", len(c.Kernels), len(c.Strides), len(c.Features))
	}
	for s := range c.Features {
		for a := range 3 {
			if k := c.Kernels[s][a]; k < 1 || k > 7 || k%2 == 0 {
				return fmt.Errorf("unet: stage %d kernel %v: sizes must be odd, 1..7", s, c.Kernels[s])
			}
			if st := c.Strides[s][a]; st < 1 || st > 4 {
				return fmt.Errorf("unet: stage %d stride %v: strides must be 1..4", s, c.Strides[s])
			}
		}
	}
	if d := c.Divisors(); d[0]*d[1]*d[2] > 1<<24 {
		return fmt.Errorf("unet: strides %v divide the input by %v, too much", c.Strides, d)
	}
	return nil
}

// Divisor is the factor every spatial input size must be a multiple of:
// 2^(stages-1), so each downsampling halves exactly and the transposed
// convolutions restore the skip's size. With per-stage strides it is the
// largest of Divisors (strides are powers of two, so a multiple of it is a
// multiple of all).
func (c Config) Divisor() int {
	if c.Strides == nil {
		return 1 << (len(c.Features) - 1)
	}
	d := c.Divisors()
	return max(d[0], d[1], d[2])
}

// Outputs is the number of logit tensors Forward returns.
func (c Config) Outputs() int {
	if c.DeepSupervision {
		return len(c.Features) - 1
	}
	return 1
}

// convNormAct is one convolution with its fused InstanceNorm+LeakyReLU.
type convNormAct struct {
	conv *nn.Conv3d
	norm *nn.InstanceNorm3d
}

type stage []convNormAct

func newStage(prefix string, in, out, convs int, kernel, stride [3]int, c Config) stage {
	s := make(stage, convs)
	for j := range s {
		st := [3]int{1, 1, 1}
		if j == 0 {
			st = stride
		}
		b := convNormAct{conv: nn.NewConv3dAniso(in, out, kernel, st, true), norm: nn.NewInstanceNormLeakyReLU(out, float32(c.NegativeSlope))}
		b.norm.Eps = c.NormEps
		b.norm.InPlaceInference = true
		p := fmt.Sprintf("%s.convs.%d.", prefix, j)
		b.conv.Weight.Name, b.conv.Bias.Name = p+"conv.weight", p+"conv.bias"
		b.norm.Weight.Name, b.norm.Bias.Name = p+"norm.weight", p+"norm.bias"
		s[j] = b
		in = out
	}
	return s
}

func (s stage) forward(x *nn.Tensor, training bool) *nn.Tensor {
	for _, b := range s {
		x = b.norm.Forward(b.conv.Forward(x, training), training)
	}
	return x
}

func (s stage) backward(dy *nn.Tensor) *nn.Tensor {
	for j := len(s) - 1; j >= 0; j-- {
		dy = s[j].conv.Backward(s[j].norm.Backward(dy))
	}
	return dy
}

func (s stage) params() []*nn.Param {
	var ps []*nn.Param
	for _, b := range s {
		ps = append(ps, b.conv.Params()...)
		ps = append(ps, b.norm.Params()...)
	}
	return ps
}

// UNet is a PlainConvUNet. Build one with New; it owns all its buffers and
// reuses them, so a training loop allocates nothing after the first step.
type UNet struct {
	cfg   Config
	enc   []stage
	up    []*nn.ConvTranspose3d
	cat   []nn.Concat
	dec   []stage
	heads []*nn.Conv3d

	params   []*nn.Param
	skips    []*nn.Tensor
	outs     []*nn.Tensor
	trained  bool
	skipGrad []*nn.Tensor
	scratch  *nn.ConvScratch // every convolution's working memory
	pool     *bufPool        // inference activations (infer)
}

// New builds a network with zero weights (call Init, or load weights).
func New(c Config) (*UNet, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c.Features = append([]int(nil), c.Features...)
	n := len(c.Features)
	u := &UNet{cfg: c}
	in := c.InChannels
	c.Kernels, c.Strides = cloneTriples(c.Kernels), cloneTriples(c.Strides)
	u.cfg = c
	for s, f := range c.Features {
		u.enc = append(u.enc, newStage(fmt.Sprintf("encoder.stages.%d.0", s), in, f, c.ConvsPerStage, c.stageKernel(s), c.stageStride(s), c))
		in = f
	}
	// The image needs no gradient: skip the first convolution's input
	// gradient, a third of its backward pass.
	u.enc[0][0].conv.NoInputGrad = true
	for s := range n - 1 {
		below, skip := c.Features[n-1-s], c.Features[n-2-s]
		t := nn.NewConvTranspose3dStride(below, skip, c.stageStride(n-1-s))
		t.Weight.Name, t.Bias.Name = fmt.Sprintf("decoder.transpconvs.%d.weight", s), fmt.Sprintf("decoder.transpconvs.%d.bias", s)
		u.up = append(u.up, t)
		u.dec = append(u.dec, newStage(fmt.Sprintf("decoder.stages.%d", s), 2*skip, skip, c.ConvsPerStage, c.stageKernel(n-2-s), [3]int{1, 1, 1}, c))
		h := nn.NewConv3d(skip, c.NumClasses, 1, 1, true)
		h.Weight.Name, h.Bias.Name = fmt.Sprintf("decoder.seg_layers.%d.weight", s), fmt.Sprintf("decoder.seg_layers.%d.bias", s)
		u.heads = append(u.heads, h)
	}
	u.cat = make([]nn.Concat, n-1)
	// The layers run one at a time, so they share one convolution scratch:
	// the network holds the largest layer's working memory, not the sum.
	u.useScratch(&nn.ConvScratch{})
	u.pool = &bufPool{}
	// Parameter order follows PyTorch's module registration order.
	for _, st := range u.enc {
		u.params = append(u.params, st.params()...)
	}
	for s := range u.dec {
		u.params = append(u.params, u.up[s].Params()...)
	}
	for _, st := range u.dec {
		u.params = append(u.params, st.params()...)
	}
	for _, h := range u.heads {
		u.params = append(u.params, h.Params()...)
	}
	u.skips = make([]*nn.Tensor, n)
	u.skipGrad = make([]*nn.Tensor, n)
	return u, nil
}

func (u *UNet) useScratch(sc *nn.ConvScratch) {
	u.scratch = sc
	for _, st := range append(append([]stage{}, u.enc...), u.dec...) {
		for _, b := range st {
			b.conv.Scratch = sc
		}
	}
	for s := range u.up {
		u.up[s].Scratch, u.heads[s].Scratch = sc, sc
	}
}

// ShareWorkspace has u work in v's convolution scratch and inference
// buffers from now on. It is for networks that never run at the same time,
// such as a model's localiser and segmenter: the pair then touches the
// larger network's working memory rather than both (on a virtual machine,
// backing fresh memory costs more than the localiser's whole pass). The
// outputs of an inference pass of either network are overwritten by the
// next pass of either.
func (u *UNet) ShareWorkspace(v *UNet) {
	u.useScratch(v.scratch)
	u.pool = v.pool
}

// Replica returns a network that computes what u computes, on u's weights
// (shared, not copied), with gradients and working memory of its own, so
// that the two can run passes at the same time: training splits a batch
// between replicas, one sample per core, and adds the replicas' gradients
// into u's. A change to u's weights is the replica's too.
func (u *UNet) Replica() (*UNet, error) {
	r, err := New(u.cfg)
	if err != nil {
		return nil, fmt.Errorf("replica: %w", err)
	}
	for i, p := range r.params {
		p.Data = u.params[i].Data
	}
	return r, nil
}

// Config returns the network's configuration.
func (u *UNet) Config() Config {
	c := u.cfg
	c.Features = append([]int(nil), c.Features...)
	c.Kernels, c.Strides = cloneTriples(c.Kernels), cloneTriples(c.Strides)
	return c
}

func cloneTriples(t [][3]int) [][3]int {
	if t == nil {
		return nil
	}
	return append([][3]int(nil), t...)
}

// Params returns every trainable parameter, named as in PyTorch.
func (u *UNet) Params() []*nn.Param { return u.params }

// Init sets nnU-Net's initialisation (InitWeights_He(1e-2)): Kaiming normal
// with a = 1e-2 for convolution and transposed-convolution weights, zero
// biases, norm weights 1 and biases 0. The same seed gives the same network.
func (u *UNet) Init(seed uint64) {
	rng := nn.NewRand(seed)
	for _, p := range u.params {
		switch {
		case len(p.Shape) == 5:
			// Shape is known to be 5-D, so KaimingNormal cannot fail.
			_ = nn.KaimingNormal(p, 1e-2, rng)
		case strings.HasSuffix(p.Name, "norm.weight"):
			for i := range p.Data {
				p.Data[i] = 1
			}
		default:
			clear(p.Data)
		}
	}
}

// CheckInput reports whether x can go through the network.
func (u *UNet) CheckInput(x *nn.Tensor) error {
	if x.Shape[1] != u.cfg.InChannels {
		return fmt.Errorf("unet: input %v has %d channels, the network takes %d", x.Shape, x.Shape[1], u.cfg.InChannels)
	}
	d := u.cfg.Divisors()
	for a, s := range x.Shape[2:] {
		if s <= 0 || s%d[a] != 0 {
			return fmt.Errorf("unet: input %v: spatial sizes (d, h, w) must be positive multiples of %v", x.Shape, d)
		}
	}
	return nil
}

// Forward runs the network and returns its logits, highest resolution
// first: Config.Outputs() tensors of NumClasses channels, owned by the
// network and overwritten by the next call. With training false nothing is
// kept for Backward and normalisation works in place. It panics on inputs
// CheckInput rejects.
func (u *UNet) Forward(x *nn.Tensor, training bool) []*nn.Tensor {
	if err := u.CheckInput(x); err != nil {
		panic(err)
	}
	if !training && x.Shape[0] == 1 {
		return u.infer(x)
	}
	n := len(u.enc)
	h := x
	for s, st := range u.enc {
		h = st.forward(h, training)
		u.skips[s] = h
	}
	nout := u.cfg.Outputs()
	if cap(u.outs) < nout {
		u.outs = make([]*nn.Tensor, nout)
	}
	u.outs = u.outs[:nout]
	for s := range u.dec {
		up := u.up[s].Forward(h, training)
		h = u.dec[s].forward(u.cat[s].Forward(up, u.skips[n-2-s]), training)
		// Output index: decoder stage s is output n-2-s (highest resolution first).
		if u.cfg.DeepSupervision {
			u.outs[n-2-s] = u.heads[s].Forward(h, training)
		} else if s == n-2 {
			u.outs[0] = u.heads[s].Forward(h, training)
		}
	}
	u.trained = training
	return u.outs
}

// Backward takes the loss gradient for each output of the last training
// Forward (same order; nil means zero) and adds every parameter's gradient
// into Param.Grad. It works in the layers' gradient buffers and leaves them
// to be overwritten by the next step.
func (u *UNet) Backward(dys []*nn.Tensor) error {
	if !u.trained {
		return errors.New("unet: Backward without a training Forward")
	}
	if len(dys) != len(u.outs) {
		return fmt.Errorf("unet: %d output gradients for %d outputs", len(dys), len(u.outs))
	}
	for i, dy := range dys {
		if dy != nil && dy.Shape != u.outs[i].Shape {
			return fmt.Errorf("unet: gradient %d has shape %v, output is %v", i, dy.Shape, u.outs[i].Shape)
		}
	}
	n := len(u.enc)
	var g *nn.Tensor // gradient w.r.t. the current decoder stage's output
	for s := n - 2; s >= 0; s-- {
		var dy *nn.Tensor
		if u.cfg.DeepSupervision {
			dy = dys[n-2-s]
		} else if s == n-2 {
			dy = dys[0]
		}
		if dy != nil {
			g = accumulate(g, u.heads[s].Backward(dy))
		}
		if g == nil {
			// No output handled so far has a gradient: nothing reaches
			// this stage.
			u.skipGrad[n-2-s] = nil
			continue
		}
		gu, gs := u.cat[s].Backward(u.dec[s].backward(g))
		u.skipGrad[n-2-s] = gs
		g = u.up[s].Backward(gu)
	}
	if g == nil {
		return nil
	}
	for s := n - 1; s >= 0; s-- {
		if s < n-1 && u.skipGrad[s] != nil {
			g = accumulate(g, u.skipGrad[s])
		}
		g = u.enc[s].backward(g)
	}
	return nil
}

// accumulate returns a + b, adding into a (a layer's gradient buffer that no
// one reads again this step); a nil a returns b.
func accumulate(a, b *nn.Tensor) *nn.Tensor {
	if a == nil {
		return b
	}
	ad, bd := a.Data, b.Data[:len(a.Data)]
	for i := range ad {
		ad[i] += bd[i]
	}
	return a
}

// ZeroGrad clears every parameter gradient.
func (u *UNet) ZeroGrad() {
	for _, p := range u.params {
		p.ZeroGrad()
	}
}

// MarshalConfig is the JSON stored as the weights' "architecture".
func (c Config) MarshalConfig() string {
	b, _ := json.Marshal(c) // a struct of numbers and a slice cannot fail
	return string(b)
}

// SetThreads caps the goroutines every layer uses (0: GOMAXPROCS).
func (u *UNet) SetThreads(n int) {
	for _, st := range append(append([]stage{}, u.enc...), u.dec...) {
		for _, b := range st {
			b.conv.Threads, b.norm.Threads = n, n
		}
	}
	for s := range u.up {
		u.up[s].Threads, u.heads[s].Threads, u.cat[s].Threads = n, n, n
	}
}
