//go:build amd64

package bench

import "golang.org/x/sys/cpu"

//go:noescape
func fmaLoopAVX512(n int)

//go:noescape
func fmaLoopAVX2(n int)

// fmaLoop returns the widest FMA loop this CPU runs, its name and the
// single-precision flops of one iteration (accumulators x lanes x 2).
func fmaLoop() (loop func(n int), simd string, flopsPerIter float64) {
	switch {
	case cpu.X86.HasAVX512F:
		return fmaLoopAVX512, "avx512", 16 * 16 * 2
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return fmaLoopAVX2, "avx2", 12 * 8 * 2
	}
	return nil, "none", 0
}
