package nn

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
)

// cpuSeconds is the process's user+system CPU time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// timeIt runs fn b.N times and reports GFLOP/s by wall time and by CPU time
// per thread ("cpuGFLOP/s"), which stays meaningful when other processes
// share the cores.
func timeIt(b *testing.B, flops float64, fn func()) {
	fn()
	b.ResetTimer()
	c0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		fn()
	}
	cpu := cpuSeconds() - c0
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	b.ReportMetric(flops*float64(b.N)*float64(runtime.GOMAXPROCS(0))/cpu/1e9, "cpuGFLOP/s")
}

// BenchmarkConvParts times each pass of the engine separately on the
// benchmark shapes and on the U-Net's other layer kinds, in GFLOP/s of
// useful work (go test -bench ConvParts ./nn).
func BenchmarkConvParts(b *testing.B) {
	cases := []struct {
		s, cin, cout, k, stride int
	}{
		{48, 16, 16, 3, 1}, {32, 32, 32, 3, 1}, {16, 64, 64, 3, 1},
		{8, 128, 128, 3, 1}, {4, 256, 256, 3, 1},
		{64, 16, 32, 3, 2}, {16, 64, 128, 3, 2}, {8, 128, 256, 3, 2},
		{64, 1, 16, 3, 1}, {64, 16, 2, 1, 1},
	}
	for _, tc := range cases {
		rng := rand.New(rand.NewPCG(1, 1))
		c := NewConv3d(tc.cin, tc.cout, tc.k, tc.stride, true)
		randParams(rng, c)
		x := randTensor(rng, 1, tc.cin, tc.s, tc.s, tc.s)
		y := c.Forward(x, true)
		dy := &Tensor{Shape: y.Shape, Data: append([]float32(nil), y.Data...)}
		flops := 2 * float64(tc.cin*tc.cout*tc.k*tc.k*tc.k) * float64(y.Spatial())
		name := fmt.Sprintf("%d^3_%dto%d_k%ds%d", tc.s, tc.cin, tc.cout, tc.k, tc.stride)
		g := c.geom(x.Shape)
		parts := []struct {
			name string
			fn   func()
		}{
			{"fwd", func() { c.Forward(x, true) }},
			{"wgrad", func() { c.engine.backwardWeight(&g, x.Data, dy.Data, c.Weight.Grad, c.Bias.Grad, nil, 0) }},
			{"dgrad", func() { c.engine.backwardData(&g, dy.Data, c.Weight.Data, x.Data, nil, 0) }},
		}
		for _, p := range parts {
			b.Run(name+"/"+p.name, func(b *testing.B) {
				timeIt(b, flops, p.fn)
			})
		}
	}
	for _, tc := range []struct{ s, cin, cout int }{{32, 32, 16}, {4, 256, 128}} {
		rng := rand.New(rand.NewPCG(1, 1))
		u := NewConvTranspose3d(tc.cin, tc.cout)
		randParams(rng, u)
		x := randTensor(rng, 1, tc.cin, tc.s, tc.s, tc.s)
		flops := 2 * float64(tc.cin*tc.cout*8) * float64(x.Spatial())
		name := fmt.Sprintf("up%d^3_%dto%d", tc.s, tc.cin, tc.cout)
		y := u.Forward(x, true)
		dy := &Tensor{Shape: y.Shape, Data: append([]float32(nil), y.Data...)}
		b.Run(name+"/fwd", func(b *testing.B) {
			timeIt(b, flops, func() { u.Forward(x, true) })
		})
		b.Run(name+"/bwd", func(b *testing.B) {
			timeIt(b, 2*flops, func() { u.Backward(dy) })
		})
	}
}
