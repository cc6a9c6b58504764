package nn

import "math"

// The inner loops of the instance norm. Sums run in float32 within blocks
// of blockLen and in float64 across blocks, which keeps them accurate to
// ~1e-7 relative. On amd64 with AVX2+FMA the bulk of each loop runs in
// assembly (normkernels_amd64.s, 8 lanes, several accumulators); the Go
// versions (suffix Go) do the tails and everything elsewhere. They use
// independent accumulators and choose the LeakyReLU slope without a branch,
// which random signs would mispredict half the time.

const blockLen = 512

// sum returns the sum of xs.
func sum(xs []float32) float64 {
	var total float64
	for len(xs) > 0 {
		n := min(blockLen, len(xs))
		blk := xs[:n]
		xs = xs[n:]
		if n8 := n &^ 7; haveNormAVX2 && n8 > 0 {
			total += float64(sumSqDevAVX2(&blk[0], n8, 0, false))
			blk = blk[n8:]
		}
		total += sumGo(blk)
	}
	return total
}

// sumGo returns the sum of xs (a block), in float32.
func sumGo(blk []float32) float64 {
	{
		var s0, s1, s2, s3 float32
		i := 0
		for ; i+4 <= len(blk); i += 4 {
			q := blk[i : i+4 : i+4]
			s0 += q[0]
			s1 += q[1]
			s2 += q[2]
			s3 += q[3]
		}
		for ; i < len(blk); i++ {
			s0 += blk[i]
		}
		return float64((s0 + s1) + (s2 + s3))
	}
}

// sumSqDev returns the sum of (x - m)^2.
func sumSqDev(xs []float32, m float32) float64 {
	var total float64
	for len(xs) > 0 {
		n := min(blockLen, len(xs))
		blk := xs[:n]
		xs = xs[n:]
		if n8 := n &^ 7; haveNormAVX2 && n8 > 0 {
			total += float64(sumSqDevAVX2(&blk[0], n8, m, true))
			blk = blk[n8:]
		}
		total += sumSqDevGo(blk, m)
	}
	return total
}

// sumSqDevGo returns the sum of (x - m)^2 over a block, in float32.
func sumSqDevGo(blk []float32, m float32) float64 {
	{
		var s0, s1, s2, s3 float32
		i := 0
		for ; i+4 <= len(blk); i += 4 {
			q := blk[i : i+4 : i+4]
			d0, d1, d2, d3 := q[0]-m, q[1]-m, q[2]-m, q[3]-m
			s0 += d0 * d0
			s1 += d1 * d1
			s2 += d2 * d2
			s3 += d3 * d3
		}
		for ; i < len(blk); i++ {
			d := blk[i] - m
			s0 += d * d
		}
		return float64((s0 + s1) + (s2 + s3))
	}
}

// meanVar returns the mean and biased variance of xs in two passes (one-pass
// formulas lose digits when the mean is large against the spread, as after
// a biased convolution).
func meanVar(xs []float32) (float64, float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	mean := sum(xs) / float64(len(xs))
	return mean, sumSqDev(xs, float32(mean)) / float64(len(xs))
}

// slopeOf returns 1 for z > 0 and slope otherwise (z <= 0, as PyTorch's
// LeakyReLU backward), selected on bits: f = one ^ (notPos * (one ^ slope)).
// The compiler turns the comparison into a flag set, not a branch.
func slopeOf(z float32, one, oneXorSlope uint32) float32 {
	notPos := uint32(1)
	if z > 0 {
		notPos = 0
	}
	return math.Float32frombits(one ^ (notPos * oneXorSlope))
}

// affineAct writes ys = act(xs*a + b), act the identity when !fused.
// The slope must lie in [0, 1] (the assembly computes max(z, slope*z)).
func affineAct(ys, xs []float32, a, b, slope float32, fused bool) {
	ys = ys[:len(xs)]
	if n8 := len(xs) &^ 7; haveNormAVX2 && n8 > 0 {
		affineLeakyAVX2(&ys[0], &xs[0], n8, a, b, slope, fused)
		ys, xs = ys[n8:], xs[n8:]
	}
	affineActGo(ys, xs, a, b, slope, fused)
}

func affineActGo(ys, xs []float32, a, b, slope float32, fused bool) {
	ys = ys[:len(xs)]
	if !fused {
		for i, v := range xs {
			ys[i] = v*a + b
		}
		return
	}
	one := math.Float32bits(1)
	ox := one ^ math.Float32bits(slope)
	for i, v := range xs {
		z := v*a + b
		ys[i] = z * slopeOf(z, one, ox)
	}
}

// normGradSums returns sum(d) and sum(d*xhat) over a channel, where
// xhat = (x-mean)*rstd and d is dy times the activation's slope at
// z = g*xhat + b (just dy when !fused).
func normGradSums(xs, ds []float32, mean, rstd, g, b, slope float32, fused bool) (float64, float64) {
	ds = ds[:len(xs)]
	if haveNormAVX2 && len(xs) >= 8 {
		p := gradParams(mean, rstd, g, b, slope, fused)
		var t1, t2 float64
		for off := 0; off < len(xs); off += blockLen {
			end := min(off+blockLen, len(xs))
			n8 := (end - off) &^ 7
			if n8 > 0 {
				s1, s2 := normGradAVX2(nil, &xs[off], &ds[off], n8, &p)
				t1 += float64(s1)
				t2 += float64(s2)
			}
			if off+n8 < end {
				s1, s2 := normGradSumsGo(xs[off+n8:end], ds[off+n8:end], mean, rstd, g, b, slope, fused)
				t1 += s1
				t2 += s2
			}
		}
		return t1, t2
	}
	return normGradSumsGo(xs, ds, mean, rstd, g, b, slope, fused)
}

func gradParams(mean, rstd, g, b, slope float32, fused bool) normGradParams {
	if !fused {
		slope = 1
	}
	return normGradParams{negMean: -mean, rstd: rstd, g: g, b: b, slope: slope, oneMinusSlope: 1 - slope}
}

func normGradSumsGo(xs, ds []float32, mean, rstd, g, b, slope float32, fused bool) (float64, float64) {
	ds = ds[:len(xs)]
	one := math.Float32bits(1)
	ox := one ^ math.Float32bits(slope)
	if !fused {
		ox = 0 // slopeOf always 1
	}
	var t1, t2 float64
	for off := 0; off < len(xs); off += blockLen {
		end := min(off+blockLen, len(xs))
		bx, bd := xs[off:end], ds[off:end]
		bd = bd[:len(bx)]
		var a0, a1, c0, c1 float32
		i := 0
		for ; i+2 <= len(bx); i += 2 {
			xh0 := (bx[i] - mean) * rstd
			xh1 := (bx[i+1] - mean) * rstd
			d0 := bd[i] * slopeOf(g*xh0+b, one, ox)
			d1 := bd[i+1] * slopeOf(g*xh1+b, one, ox)
			a0 += d0
			a1 += d1
			c0 += d0 * xh0
			c1 += d1 * xh1
		}
		for ; i < len(bx); i++ {
			xh := (bx[i] - mean) * rstd
			d := bd[i] * slopeOf(g*xh+b, one, ox)
			a0 += d
			c0 += d * xh
		}
		t1 += float64(a0 + a1)
		t2 += float64(c0 + c1)
	}
	return t1, t2
}

// normGradApply writes dx = k*(d - m1 - xhat*m2), with d as in normGradSums.
func normGradApply(dxs, xs, ds []float32, mean, rstd, g, b, slope, k, m1, m2 float32, fused bool) {
	dxs, ds = dxs[:len(xs)], ds[:len(xs)]
	if n8 := len(xs) &^ 7; haveNormAVX2 && n8 > 0 {
		p := gradParams(mean, rstd, g, b, slope, fused)
		p.k, p.c, p.m2, p.apply = k, -k*m1, -k*m2, 1
		normGradAVX2(&dxs[0], &xs[0], &ds[0], n8, &p)
		dxs, xs, ds = dxs[n8:], xs[n8:], ds[n8:]
	}
	normGradApplyGo(dxs, xs, ds, mean, rstd, g, b, slope, k, m1, m2, fused)
}

func normGradApplyGo(dxs, xs, ds []float32, mean, rstd, g, b, slope, k, m1, m2 float32, fused bool) {
	ds = ds[:len(xs)]
	dxs = dxs[:len(xs)]
	one := math.Float32bits(1)
	ox := one ^ math.Float32bits(slope)
	if !fused {
		ox = 0
	}
	for i, v := range xs {
		xh := (v - mean) * rstd
		d := ds[i] * slopeOf(g*xh+b, one, ox)
		dxs[i] = k * (d - m1 - xh*m2)
	}
}
