//go:build amd64

package nn

import "golang.org/x/sys/cpu"

// haveNormAVX2 says the instance-norm loops may use the AVX2+FMA assembly
// (normkernels_amd64.s). It is fixed at start-up from the CPU's features.
var haveNormAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// normGradParams is the argument block of normGradAVX2; the layout is read
// by offset in the assembly.
type normGradParams struct {
	negMean, rstd, g, b, slope, oneMinusSlope, k, c, m2 float32
	apply                                               uint32
}

//go:noescape
func affineLeakyAVX2(ys, xs *float32, n int, a, b, slope float32, fused bool)

//go:noescape
func sumSqDevAVX2(xs *float32, n int, m float32, square bool) float32

//go:noescape
func normGradAVX2(dxs, xs, ds *float32, n int, p *normGradParams) (s1, s2 float32)
