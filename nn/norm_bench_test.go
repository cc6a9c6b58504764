package nn

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time. On this shared machine
// wall time mostly measures the neighbours; the benchmarks below also
// report CPU time per operation (run them with -cpu 1 for a clean figure).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkInstanceNormLeakyReLU times the fused norm on the U-Net's
// largest activation of the benchmark, 2x16x64^3, single-threaded.
func BenchmarkInstanceNormLeakyReLU(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := randomTensor(rng, [5]int{2, 16, 64, 64, 64}, 2, 1)
	dy := randomTensor(rng, x.Shape, 1, 0)
	n := NewInstanceNormLeakyReLU(16, 0.01)
	n.Threads = 1
	n.Forward(x, true)
	n.Backward(dy)
	for _, tc := range []struct {
		name string
		fn   func()
	}{
		{"forward", func() { n.Forward(x, true) }},
		{"backward", func() { n.Backward(dy) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c0 := cpuTime()
			for range b.N {
				tc.fn()
			}
			b.ReportMetric(float64(cpuTime()-c0)/float64(b.N)/float64(x.Len()), "cpu-ns/elem")
		})
	}
}
