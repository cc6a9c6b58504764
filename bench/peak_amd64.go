//go:build amd64

package bench

import "golang.org/x/sys/cpu"

//go:noescape
func fmaLoopAVX512(n int)

//go:noescape
func fmaLoopAVX2(n int)

// fmaLoop returns the FMA loop of the vector width the engine's kernel
// path (nn.KernelPath) uses, its name and the single-precision flops of one
// iteration (accumulators x lanes x 2): the AVX2 kernels forced on an
// AVX-512 machine are measured against the AVX2 peak, what they can reach.
func fmaLoop(path string) (loop func(n int), simd string, flopsPerIter float64) {
	switch {
	case path == "avx512" && cpu.X86.HasAVX512F:
		return fmaLoopAVX512, "avx512", 16 * 16 * 2
	case path == "avx2" && cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return fmaLoopAVX2, "avx2", 12 * 8 * 2
	}
	return nil, "none", 0
}
