package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The three shapes of the PyTorch peer (batch 1, Cin = Cout, 3x3x3, stride
// 1): go test -bench Conv3d ./nn reports GFLOP/s with the peer's convention
// (2*C*C*27*S^3 forward, three times that for forward+backward).
var benchShapes = []struct{ s, c int }{{48, 16}, {32, 32}, {16, 64}}

func benchConv(b *testing.B, k *kernels, s, c int, backward bool) {
	rng := rand.New(rand.NewPCG(1, 1))
	conv := NewConv3d(c, c, 3, 1, false)
	conv.engine.kern = k
	randParams(rng, conv)
	x := randTensor(rng, 1, c, s, s, s)
	flops := 2.0 * float64(c*c*27) * float64(s*s*s)
	if backward {
		flops *= 3
	}
	run := func() {
		y := conv.Forward(x, backward)
		if backward {
			conv.Backward(y)
		}
	}
	timeIt(b, flops, run)
}

func BenchmarkConv3d(b *testing.B) {
	for _, sh := range benchShapes {
		b.Run(fmt.Sprintf("%d^3x%d/fwd", sh.s, sh.c), func(b *testing.B) { benchConv(b, nil, sh.s, sh.c, false) })
		b.Run(fmt.Sprintf("%d^3x%d/fwd+bwd", sh.s, sh.c), func(b *testing.B) { benchConv(b, nil, sh.s, sh.c, true) })
	}
}

// BenchmarkConv3dPaths runs the benchmark shapes' forward+backward on each
// kernel path this CPU has except the portable one (go test -bench
// Conv3dPaths ./nn), to see what a CPU without AVX-512 would get.
func BenchmarkConv3dPaths(b *testing.B) {
	ks := availableKernels()
	for _, k := range ks[:len(ks)-1] {
		for _, sh := range benchShapes {
			b.Run(fmt.Sprintf("%s/%d^3x%d/fwd+bwd", k.name, sh.s, sh.c), func(b *testing.B) { benchConv(b, k, sh.s, sh.c, true) })
		}
	}
}
