//go:build !amd64

package nn

// haveNormAVX2 is false off amd64: the instance norm runs its Go loops.
const haveNormAVX2 = false

type normGradParams struct {
	negMean, rstd, g, b, slope, oneMinusSlope, k, c, m2 float32
	apply                                               uint32
}

func affineLeakyAVX2(ys, xs *float32, n int, a, b, slope float32, fused bool) {
	panic("nn: no AVX2 kernels on this architecture")
}

func sumSqDevAVX2(xs *float32, n int, m float32, square bool) float32 {
	panic("nn: no AVX2 kernels on this architecture")
}

func normGradAVX2(dxs, xs, ds *float32, n int, p *normGradParams) (s1, s2 float32) {
	panic("nn: no AVX2 kernels on this architecture")
}
