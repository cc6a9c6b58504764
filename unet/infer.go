package unet

import (
	"github.com/otoseg/otoseg/internal/prefault"
	"github.com/otoseg/otoseg/nn"
)

// infer is Forward without training for one sample. Training keeps every
// activation for the backward pass, so each layer owns its output; an
// inference pass needs each activation only until the next layer has read
// it, except the skips. infer therefore draws every activation from a pool
// of buffers that are returned once read, and writes each encoder stage's
// output (its skip) straight into the second half of the decoder
// concatenation that will read it, where the transposed convolution then
// writes the first half: no concatenation copy.
//
// On a 64^3 patch of the 16-128 network this holds about half the memory of
// the layer-owned buffers. A network's first pass costs what it first
// touches (on a virtual machine several times the pass itself), and the
// pool, kept between calls, makes the following passes allocate no buffers.
func (u *UNet) infer(x *nn.Tensor) []*nn.Tensor {
	p := u.pool
	p.reclaim() // the last pass's outputs
	n := len(u.enc)
	cats := make([]*nn.Tensor, n-1) // decoder stage s's concatenation
	h, lent := x, false
	for s, st := range u.enc {
		for j, b := range st {
			shape := b.conv.OutShape(h.Shape)
			var y *nn.Tensor
			yLent := true
			if j == len(st)-1 && s < n-1 {
				cs := shape
				cs[1] *= 2
				cat := p.get(cs)
				cats[n-2-s] = cat
				y, yLent = channels(cat, shape[1], cs[1]), false
			} else {
				y = p.get(shape)
			}
			y = b.norm.Forward(b.conv.Infer(h, y), false)
			if lent {
				p.put(h)
			}
			h, lent = y, yLent
		}
	}
	nout := u.cfg.Outputs()
	if cap(u.outs) < nout {
		u.outs = make([]*nn.Tensor, nout)
	}
	u.outs = u.outs[:nout]
	for s := range u.dec {
		cat := cats[s]
		c := cat.Shape[1] / 2
		u.up[s].Infer(h, channels(cat, 0, c))
		if lent {
			p.put(h)
		}
		h, lent = cat, true
		for _, b := range u.dec[s] {
			y := b.norm.Forward(b.conv.Infer(h, p.get(b.conv.OutShape(h.Shape))), false)
			p.put(h)
			h = y
		}
		// Output index: decoder stage s is output n-2-s (highest resolution first).
		if u.cfg.DeepSupervision || s == n-2 {
			o := n - 2 - s
			if !u.cfg.DeepSupervision {
				o = 0
			}
			u.outs[o] = u.heads[s].Infer(h, p.lend(u.heads[s].OutShape(h.Shape)))
		}
	}
	p.put(h)
	u.trained = false
	return u.outs
}

// channels is the view of channels [lo, hi) of a one-sample tensor.
func channels(t *nn.Tensor, lo, hi int) *nn.Tensor {
	s := t.Shape
	sp := t.Spatial()
	v := &nn.Tensor{Shape: [5]int{1, hi - lo, s[2], s[3], s[4]}}
	v.Data = t.Data[lo*sp : hi*sp : hi*sp]
	return v
}

// bufPool lends float32 buffers to an inference pass: a buffer put back is
// lent again to the next request it can hold (the smallest such), and a
// buffer lent with lend stays out until reclaim, at the start of the next
// pass. Inference on one patch size settles after the first pass, and
// allocates no buffers from then on.
type bufPool struct {
	free [][]float32
	out  [][]float32
}

// get returns a tensor of shape s on a free buffer, or a new one.
func (p *bufPool) get(s [5]int) *nn.Tensor {
	n := s[0] * s[1] * s[2] * s[3] * s[4]
	best := -1
	for i, b := range p.free {
		if cap(b) >= n && (best < 0 || cap(b) < cap(p.free[best])) {
			best = i
		}
	}
	if best < 0 {
		return &nn.Tensor{Shape: s, Data: prefault.Make(n)}
	}
	b := p.free[best]
	p.free[best] = p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	return &nn.Tensor{Shape: s, Data: b[:n]}
}

// put returns t's buffer, which nothing may read afterwards.
func (p *bufPool) put(t *nn.Tensor) { p.free = append(p.free, t.Data[:0]) }

// lend is get for a tensor that outlives the pass (an output).
func (p *bufPool) lend(s [5]int) *nn.Tensor {
	t := p.get(s)
	p.out = append(p.out, t.Data[:0])
	return t
}

// reclaim frees everything lent with lend.
func (p *bufPool) reclaim() {
	p.free = append(p.free, p.out...)
	p.out = p.out[:0]
}
