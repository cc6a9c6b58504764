package nn

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"unsafe"
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

// BenchmarkKernels times one direct-convolution and one weight-gradient
// kernel call per path on data that sits in L1 (16 channels x 27 taps, 48
// positions), single-threaded: the kernels' ceiling, to compare with the
// core's FMA peak (go test -bench Kernels -cpu 1 ./nn).
func BenchmarkKernels(b *testing.B) {
	src := make([]float32, 16*3*4*64+64)
	for i := range src {
		src[i] = float32(i%7) - 3
	}
	w := make([]float32, 16*27*dcRows)
	dst := make([]float32, dcRows*64)
	bias := make([]float32, dcRows)
	var taps []int64
	for kd := 0; kd < 3; kd++ {
		for kh := 0; kh < 3; kh++ {
			for kw := 0; kw < 3; kw++ {
				taps = append(taps, int64(4*(kd*4*64+kh*64+kw)))
			}
		}
	}
	var segs []dcSeg
	for i := 0; i < 48; i++ {
		segs = append(segs, dcSeg{src: int64(4 * (i % 8) * 16), dst: int64(4 * (i % 8) * 16), mask: 0xffff})
	}
	rows := [wgRows]int64{0, 4 * 512, 4 * 1024, 4 * 1536}
	cols := [wgCols]int64{4, 8, 4 * 1024, 4*1024 + 4, 4*2048 + 8, 4 * 3072}
	var out [wgOut]float32
	ks := availableKernels()
	for _, k := range ks[:len(ks)-1] {
		a := dcArgs{a: unsafe.Pointer(&w[0]), taps: unsafe.Pointer(&taps[0]), ntaps: 27, nchan: 16,
			cs: 4 * 3 * 4 * 64, ldc: 4 * 64, bias: unsafe.Pointer(&bias[0]), nrows: dcRows}
		for v := 0; v < dcSegs; v++ {
			a.src[v] = unsafe.Pointer(&src[16*v])
			a.dst[v] = unsafe.Pointer(&dst[16*v])
			a.mask[v] = 0xffff
		}
		b.Run(k.name+"/direct", func(b *testing.B) {
			timeIt(b, 16*27*dcRows*dcSegs*lanes*2, func() { k.dc(&a) })
		})
		g := wgArgs{dy: unsafe.Pointer(&src[0]), rows: &rows, src: unsafe.Pointer(&src[0]), cols: &cols,
			segs: unsafe.Pointer(&segs[0]), nseg: int64(len(segs)), out: &out}
		b.Run(k.name+"/wgrad", func(b *testing.B) {
			timeIt(b, float64(len(segs)*wgRows*wgCols*lanes*2), func() { k.wg(&g) })
		})
	}
}
