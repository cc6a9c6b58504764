package nn

import "math/bits"

// convEngine runs a Conv3d's passes on the fast primitives. It keeps the
// plans, which depend only on the shape, and the packed weights; working
// memory comes from a ConvScratch (the layer's shared one or its own).
type convEngine struct {
	kern *kernels
	// rowsOnly keeps every plan in its direct, whole-row form (no shifted
	// copies, no im2col), for tests.
	rowsOnly bool

	g      convGeom
	fwd    prepGeom // input -> prepared input
	fwdP   dcPlan
	a, ab  []float32 // packed forward / backward weights
	bias   []float32
	zeros  []float32
	tapIdx []int

	// backward-data plans: stride 1 uses one plan on the padded dy; stride
	// 2 uses one per output parity class.
	bwd     prepGeom
	bwdP    []dcPlan
	bwdTaps [][]int // tap indices (into the k^3 kernel) per class
	bwdDims [][3]int

	// Stride 1 with short rows runs on shifted copies (shiftGeom), forward
	// and backward alike: sh is its plan, the chan/tap tables place the
	// weights for the forward and the (flipped) backward pass, and outCol
	// maps the weight gradient's columns back to PyTorch's order.
	shift            bool
	sg               shiftGeom
	sh               dcPlan
	fwdChan, fwdTapS []int
	bwdChan, bwdTapS []int
	outCol           []int

	own ConvScratch // used when the layer has no shared Scratch
}

// rowEff is the fraction of lanes the plan's segments use.
func (p *dcPlan) rowEff() float64 {
	if len(p.segs) == 0 {
		return 1
	}
	var valid int
	for _, s := range p.segs {
		valid += bits.OnesCount64(uint64(s.mask))
	}
	return float64(valid) / float64(lanes*len(p.segs))
}

// ConvScratch is the working memory of the convolution passes: the padded
// (and for stride 2 phase-split) copy of the source, im2col copies, the
// parity classes of a stride-2 input gradient, weight-gradient partial
// sums. Nothing in it outlives a call, so layers that never run at the same
// time, such as the layers of one network, can share one ConvScratch and
// the network then holds the largest layer's scratch instead of the sum
// over all layers. The zero value is ready to use; a layer whose Scratch is
// nil keeps its own.
type ConvScratch struct {
	src, dy, tmp, col, part []float32
}

func (e *convEngine) scratch(s *ConvScratch) *ConvScratch {
	if s == nil {
		return &e.own
	}
	return s
}

func (e *convEngine) kernels() *kernels {
	if e.kern == nil {
		e.kern = bestKernels()
	}
	return e.kern
}

// fast reports whether the primitives cover the geometry: odd kernels with
// stride 1 and padding k/2, or kernel 3 stride 2 padding 1 (the U-Net's
// layers). Anything else takes the reference loops.
func (g *convGeom) fast() bool {
	if g.P != g.K/2 || g.K%2 == 0 {
		return false
	}
	return g.S == 1 || (g.S == 2 && g.K == 3)
}

// setup (re)builds the plans when the geometry changes.
func (e *convEngine) setup(g *convGeom) {
	if e.g == *g && e.fwdP.taps != nil {
		return
	}
	e.g = *g
	T := g.K * g.K * g.K
	e.tapIdx = growSlice(e.tapIdx, T)
	for t := range e.tapIdx {
		e.tapIdx[t] = t
	}
	if g.K == 1 {
		e.fwdP = dcPlan{cs: g.inSpatial(), taps: []int64{0}, segs: flatSegs(e.fwdP.segs, g.inSpatial())}
	} else {
		e.fwd = newPrepGeom(g.K, g.S, g.P, g.ID, g.IH, g.IW, g.OD, g.OH, g.OW)
		e.fwdP = dcPlan{cs: e.fwd.chanLen(), taps: e.fwd.taps(nil), segs: e.fwd.segs(e.fwdP.segs)}
		if !e.rowsOnly {
			e.fwdP.useCol(g.Cin)
		}
	}
	e.shift = false
	if g.K > 1 && g.S == 1 && !e.rowsOnly && e.fwdP.rowEff() < 0.9 {
		e.setupShift(g)
	}
	// The backward-data plans wait for the first backward pass
	// (setupBackward): an inference-only network never builds them, and
	// their segment lists are as large as the forward's.
	e.bwdP, e.bwdTaps, e.bwdDims = nil, nil, nil
}

// setupBackward builds the backward-data plans for the geometry setup last
// saw, once.
func (e *convEngine) setupBackward(g *convGeom) {
	if e.bwdP != nil {
		return
	}
	T := g.K * g.K * g.K
	switch {
	case g.K == 1:
		e.bwdP = []dcPlan{{cs: g.outSpatial(), taps: []int64{0}, segs: flatSegs(nil, g.outSpatial())}}
	case g.S == 1:
		// dx = conv(pad(dy), flipped W^T): the same geometry with the roles
		// of input and output exchanged.
		e.bwd = newPrepGeom(g.K, 1, g.P, g.OD, g.OH, g.OW, g.ID, g.IH, g.IW)
		e.bwdP = []dcPlan{{cs: e.bwd.chanLen(), taps: e.bwd.taps(nil), segs: e.bwd.segs(nil)}}
		if !e.rowsOnly {
			e.bwdP[0].useCol(g.Cout)
		}
		flip := make([]int, T)
		for t := range flip {
			flip[t] = T - 1 - t
		}
		e.bwdTaps = [][]int{flip}
	default:
		// Stride 2, kernel 3, padding 1: input index i = 2m + phi receives
		// kernel tap 1 from output m when phi = 0, and taps 0 (output m+1)
		// and 2 (output m) when phi = 1. dy is padded by one at the high
		// end of each axis so output m+1 may run past it.
		e.bwd = newPrepGeom(2, 1, 0, g.OD, g.OH, g.OW, g.OD, g.OH, g.OW)
		rs, ph := e.bwd.wh, e.bwd.ph
		type tap struct{ k, delta int }
		axis := [2][]tap{{{1, 0}}, {{0, 1}, {2, 0}}}
		in := [3]int{g.ID, g.IH, g.IW}
		for cls := 0; cls < 8; cls++ {
			phi := [3]int{cls >> 2, cls >> 1 & 1, cls & 1}
			var m [3]int
			for a := range m {
				m[a] = (in[a] - phi[a] + 1) / 2
			}
			var taps []int64
			var idx []int
			for _, td := range axis[phi[0]] {
				for _, th := range axis[phi[1]] {
					for _, tw := range axis[phi[2]] {
						taps = append(taps, 4*int64((td.delta*ph+th.delta)*rs+tw.delta))
						idx = append(idx, (td.k*3+th.k)*3+tw.k)
					}
				}
			}
			segs := rowSegs(nil, m[0], m[1], m[2], func(d, h int) int { return (d*ph + h) * rs })
			e.bwdP = append(e.bwdP, dcPlan{cs: e.bwd.chanLen(), taps: taps, segs: segs})
			if !e.rowsOnly {
				e.bwdP[cls].useCol(g.Cout)
			}
			e.bwdTaps = append(e.bwdTaps, idx)
			e.bwdDims = append(e.bwdDims, m)
		}
	}
}

// setupShift builds the shifted-copy plan and its index tables.
func (e *convEngine) setupShift(g *convGeom) {
	K, T := g.K, g.K*g.K*g.K
	e.shift = true
	e.sg = newShiftGeom(K, g.P, g.ID, g.IH, g.IW)
	e.sh = dcPlan{cs: e.sg.chanLen(), taps: e.sg.taps(), segs: e.sg.segs(nil)}
	e.fwdChan, e.bwdChan = make([]int, g.Cin*K), make([]int, g.Cout*K)
	for kw := 0; kw < K; kw++ {
		for c := 0; c < g.Cin; c++ {
			e.fwdChan[c*K+kw] = c*T + kw
		}
		for c := 0; c < g.Cout; c++ {
			e.bwdChan[c*K+kw] = c*g.Cin*T + (K - 1 - kw)
		}
	}
	e.fwdTapS, e.bwdTapS = make([]int, K*K), make([]int, K*K)
	for kd := 0; kd < K; kd++ {
		for kh := 0; kh < K; kh++ {
			e.fwdTapS[kd*K+kh] = (kd*K + kh) * K
			e.bwdTapS[kd*K+kh] = ((K-1-kd)*K + (K - 1 - kh)) * K
		}
	}
	e.outCol = make([]int, g.Cin*T)
	for c := 0; c < g.Cin; c++ {
		for kw := 0; kw < K; kw++ {
			for t := 0; t < K*K; t++ {
				e.outCol[(c*K+kw)*K*K+t] = c*T + t*K + kw
			}
		}
	}
}

func (e *convEngine) forward(g *convGeom, x, w, b, y []float32, sc *ConvScratch, threads int) {
	if !g.fast() {
		refConvForward(g, x, w, b, y, threads)
		return
	}
	k := e.kernels()
	e.setup(g)
	sc = e.scratch(sc)
	T := g.K * g.K * g.K
	e.bias = padBias(e.bias, b, g.Cout, 1)
	in, out := g.inSpatial(), g.outSpatial()
	if e.shift {
		e.a = packAOff(e.a, w, g.Cout, g.Cin*g.K, g.Cin*T, 0, e.fwdChan, e.fwdTapS, threads)
		sc.src = growF32(sc.src, g.Cin*g.K*e.sg.chanLen())
		for n := 0; n < g.N; n++ {
			e.sg.prep(sc.src, x[n*g.Cin*in:(n+1)*g.Cin*in], g.Cin, threads)
			dcRun(k, &e.sh, e.a, g.Cout, g.Cin*g.K, sc.src, y[n*g.Cout*out:], out, e.bias, &sc.col, threads)
		}
		return
	}
	e.a = packA(e.a, w, g.Cout, g.Cin, g.Cin*T, T, e.tapIdx, threads)
	if g.K == 1 {
		for n := 0; n < g.N; n++ {
			dcRun(k, &e.fwdP, e.a, g.Cout, g.Cin, x[n*g.Cin*in:(n+1)*g.Cin*in], y[n*g.Cout*out:], out, e.bias, &sc.col, threads)
		}
		return
	}
	sc.src = growF32(sc.src, g.Cin*e.fwd.chanLen())
	for n := 0; n < g.N; n++ {
		dcPrep(k, &e.fwd, sc.src, x[n*g.Cin*in:(n+1)*g.Cin*in], g.Cin, threads)
		dcRun(k, &e.fwdP, e.a, g.Cout, g.Cin, sc.src, y[n*g.Cout*out:], out, e.bias, &sc.col, threads)
	}
}

// backwardWeight prepares each sample of the input again rather than
// keeping the forward pass's copy: the copy costs a few percent of the
// pass, keeping it would double the memory of every convolution's input.
func (e *convEngine) backwardWeight(g *convGeom, x, dy, dw, db []float32, sc *ConvScratch, threads int) {
	if !g.fast() {
		refConvBackwardWeight(g, x, dy, dw, db, threads)
		return
	}
	k := e.kernels()
	e.setup(g)
	sc = e.scratch(sc)
	in, out := g.inSpatial(), g.outSpatial()
	for n := 0; n < g.N; n++ {
		dyn := dy[n*g.Cout*out : (n+1)*g.Cout*out]
		if db != nil {
			sumRows(db, dyn, g.Cout, out, threads)
		}
		xn := x[n*g.Cin*in : (n+1)*g.Cin*in]
		switch {
		case g.K == 1:
			sc.part = wgRun(k, &e.fwdP, g.Cout, g.Cin, dyn, out, xn, dw, sc.part, nil, &sc.col, threads)
		case e.shift:
			sc.src = growF32(sc.src, g.Cin*g.K*e.sg.chanLen())
			e.sg.prep(sc.src, xn, g.Cin, threads)
			sc.part = wgRun(k, &e.sh, g.Cout, g.Cin*g.K, dyn, out, sc.src, dw, sc.part, e.outCol, &sc.col, threads)
		default:
			sc.src = growF32(sc.src, g.Cin*e.fwd.chanLen())
			dcPrep(k, &e.fwd, sc.src, xn, g.Cin, threads)
			sc.part = wgRun(k, &e.fwdP, g.Cout, g.Cin, dyn, out, sc.src, dw, sc.part, nil, &sc.col, threads)
		}
	}
}

func (e *convEngine) backwardData(g *convGeom, dy, w, dx []float32, sc *ConvScratch, threads int) {
	if !g.fast() {
		refConvBackwardData(g, dy, w, dx, threads)
		return
	}
	k := e.kernels()
	e.setup(g)
	e.setupBackward(g)
	sc = e.scratch(sc)
	T := g.K * g.K * g.K
	in, out := g.inSpatial(), g.outSpatial()
	e.zeros = padBias(e.zeros, nil, g.Cin, 1)
	if g.K == 1 {
		e.ab = packA(e.ab, w, g.Cin, g.Cout, 1, g.Cin, []int{0}, threads)
		for n := 0; n < g.N; n++ {
			dcRun(k, &e.bwdP[0], e.ab, g.Cin, g.Cout, dy[n*g.Cout*out:(n+1)*g.Cout*out], dx[n*g.Cin*in:], in, e.zeros, &sc.col, threads)
		}
		return
	}
	if e.shift {
		e.ab = packAOff(e.ab, w, g.Cin, g.Cout*g.K, T, 0, e.bwdChan, e.bwdTapS, threads)
		sc.dy = growF32(sc.dy, g.Cout*g.K*e.sg.chanLen())
		for n := 0; n < g.N; n++ {
			e.sg.prep(sc.dy, dy[n*g.Cout*out:(n+1)*g.Cout*out], g.Cout, threads)
			dcRun(k, &e.sh, e.ab, g.Cin, g.Cout*g.K, sc.dy, dx[n*g.Cin*in:], in, e.zeros, &sc.col, threads)
		}
		return
	}
	sc.dy = growF32(sc.dy, g.Cout*e.bwd.chanLen())
	if g.S == 1 {
		e.ab = packA(e.ab, w, g.Cin, g.Cout, T, g.Cin*T, e.bwdTaps[0], threads)
		for n := 0; n < g.N; n++ {
			dcPrep(k, &e.bwd, sc.dy, dy[n*g.Cout*out:(n+1)*g.Cout*out], g.Cout, threads)
			dcRun(k, &e.bwdP[0], e.ab, g.Cin, g.Cout, sc.dy, dx[n*g.Cin*in:], in, e.zeros, &sc.col, threads)
		}
		return
	}
	// Stride 2: one pass per parity class into sc.tmp, then interleave.
	sc.tmp = growF32(sc.tmp, g.Cin*in)
	for n := 0; n < g.N; n++ {
		dcPrep(k, &e.bwd, sc.dy, dy[n*g.Cout*out:(n+1)*g.Cout*out], g.Cout, threads)
		off := 0
		var offs [8]int
		for cls := range e.bwdP {
			m := e.bwdDims[cls]
			offs[cls] = off
			cnt := m[0] * m[1] * m[2]
			if cnt == 0 {
				continue
			}
			e.ab = packA(e.ab, w, g.Cin, g.Cout, T, g.Cin*T, e.bwdTaps[cls], threads)
			dcRun(k, &e.bwdP[cls], e.ab, g.Cin, g.Cout, sc.dy, sc.tmp[off*g.Cin:], cnt, e.zeros, &sc.col, threads)
			off += cnt
		}
		e.scatterParity(k, g, offs, sc.tmp, dx[n*g.Cin*in:(n+1)*g.Cin*in], threads)
	}
}

// scatterParity moves the eight parity classes of the stride-2 input
// gradient from tmp (class cls holds Cin x m0 x m1 x m2 starting at
// offs[cls]*Cin) to their places in dx.
func (e *convEngine) scatterParity(k *kernels, g *convGeom, offs [8]int, tmp, dx []float32, threads int) {
	in := g.inSpatial()
	parallelFor(threads, g.Cin*g.ID, func(_, lo, hi int) {
		for cz := lo; cz < hi; cz++ {
			c, z := cz/g.ID, cz%g.ID
			pd, md := z&1, z>>1
			for y := 0; y < g.IH; y++ {
				ph, mh := y&1, y>>1
				row := dx[c*in+(z*g.IH+y)*g.IW : c*in+(z*g.IH+y+1)*g.IW]
				// Even columns come from class pw=0 (ceil(IW/2) of them), odd
				// ones from pw=1 (floor(IW/2)).
				var srcs [2][]float32
				for pw := 0; pw < 2; pw++ {
					cls := pd<<2 | ph<<1 | pw
					m := e.bwdDims[cls]
					cnt := m[0] * m[1] * m[2]
					o := offs[cls]*g.Cin + c*cnt + (md*m[1]+mh)*m[2]
					srcs[pw] = tmp[o : o+m[2]]
				}
				np := g.IW / 2
				k.ilv(row[:2*np], srcs[0][:np], srcs[1][:np])
				if g.IW%2 == 1 {
					row[2*np] = srcs[0][np]
				}
			}
		}
	})
}

// upEngine runs a ConvTranspose3d's passes and keeps their scratch. The
// eight kernel positions (a,b,c) become eight extra output rows: the product
// tmp[co*8+p] = W[:,co,p]^T x is one 1x1 convolution, and y is tmp with
// the parities interleaved.
type upEngine struct {
	kern  *kernels
	n     int
	plan  dcPlan
	a, ab []float32
	bias  []float32
	zeros []float32
	own   ConvScratch
}

func (e *upEngine) kernels() *kernels {
	if e.kern == nil {
		e.kern = bestKernels()
	}
	return e.kern
}

func (e *upEngine) setup(in int) {
	if e.n == in && e.plan.taps != nil {
		return
	}
	e.n = in
	e.plan = dcPlan{cs: in, taps: []int64{0}, segs: flatSegs(e.plan.segs, in)}
}

func (e *upEngine) forward(x *Tensor, w, b []float32, y *Tensor, sc *ConvScratch, threads int) {
	k := e.kernels()
	if sc == nil {
		sc = &e.own
	}
	N, Cin, Cout := x.Shape[0], x.Shape[1], y.Shape[1]
	in := x.Spatial()
	e.setup(in)
	e.a = packA(e.a, w, 8*Cout, Cin, 1, 8*Cout, []int{0}, threads)
	e.bias = padBias(e.bias, b, 8*Cout, 8)
	sc.tmp = growF32(sc.tmp, 8*Cout*in)
	for n := 0; n < N; n++ {
		dcRun(k, &e.plan, e.a, 8*Cout, Cin, x.Data[n*Cin*in:(n+1)*Cin*in], sc.tmp, in, e.bias, &sc.col, threads)
		upShuffle(k, x.Shape, Cout, sc.tmp, y.Data[n*Cout*8*in:(n+1)*Cout*8*in], false, threads)
	}
}

func (e *upEngine) backward(x, dy *Tensor, w, dw, db []float32, dx *Tensor, sc *ConvScratch, threads int) {
	k := e.kernels()
	if sc == nil {
		sc = &e.own
	}
	N, Cin, Cout := x.Shape[0], x.Shape[1], dy.Shape[1]
	in := x.Spatial()
	e.setup(in)
	e.ab = packA(e.ab, w, Cin, 8*Cout, 8*Cout, 1, []int{0}, threads)
	e.zeros = padBias(e.zeros, nil, Cin, 1)
	sc.dy = growF32(sc.dy, 8*Cout*in)
	for n := 0; n < N; n++ {
		dyn := dy.Data[n*Cout*8*in : (n+1)*Cout*8*in]
		sumRows(db, dyn, Cout, 8*in, threads)
		upShuffle(k, x.Shape, Cout, sc.dy, dyn, true, threads)
		xn := x.Data[n*Cin*in : (n+1)*Cin*in]
		sc.part = wgRun(k, &e.plan, Cin, 8*Cout, xn, in, sc.dy, dw, sc.part, nil, &sc.col, threads)
		dcRun(k, &e.plan, e.ab, Cin, 8*Cout, sc.dy, dx.Data[n*Cin*in:], in, e.zeros, &sc.col, threads)
	}
}

// upShuffle moves between the parity-major layout t[co*8+p][d][h][w] and
// the output layout y[co][2d+a][2h+b][2w+c] (p = a*4+b*2+c): t to y, or y
// to t when toT.
func upShuffle(k *kernels, s [5]int, cout int, t, y []float32, toT bool, threads int) {
	D, H, W := s[2], s[3], s[4]
	in := D * H * W
	parallelFor(threads, cout*D, func(_, lo, hi int) {
		for cd := lo; cd < hi; cd++ {
			co, d := cd/D, cd%D
			for a := 0; a < 2; a++ {
				for h := 0; h < H; h++ {
					for bb := 0; bb < 2; bb++ {
						p := a*4 + bb*2
						t0 := t[(co*8+p)*in+(d*H+h)*W:][:W]
						t1 := t[(co*8+p+1)*in+(d*H+h)*W:][:W]
						yr := y[co*8*in+((2*d+a)*2*H+2*h+bb)*2*W:][:2*W]
						if toT {
							k.dilv(t0, t1, yr)
						} else {
							k.ilv(yr, t0, t1)
						}
					}
				}
			}
		}
	})
}
