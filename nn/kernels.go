package nn

import "unsafe"

//go:generate go run ./internal/asmgen kernels_amd64.s

// The engine's inner loops are two microkernels with fixed register tiles.
// Everything else (padding, phase splitting, weight packing, tiling,
// threads) is Go code shared by every path, so a path is just a pair of
// functions with the semantics documented on dcArgs and wgArgs.

// dcRows is the number of output rows (channels) one direct-convolution
// kernel call produces, and dcSegs the number of 16-lane segments.
const (
	dcRows = 8
	dcSegs = 3
	lanes  = 16
)

// dcArgs is the argument block of the direct-convolution kernel. For rows
// m < nrows and segments v with lanes l set in mask[v] it computes
//
//	acc = accum ? dst[v][m*ldc + l] : bias[m]
//	acc += sum over c < nchan, t < ntaps of a[(c*ntaps+t)*8 + m] * src[v][c*cs + taps[t] + l]
//	dst[v][m*ldc + l] = acc
//
// Offsets (cs, ldc, taps) are in bytes; src and dst point at the segment's
// first lane. Lanes outside the mask are neither read nor written, so
// segments may end anywhere; bias must hold 8 floats.
type dcArgs struct {
	a     unsafe.Pointer
	taps  unsafe.Pointer
	ntaps int64
	nchan int64
	cs    int64
	src   [dcSegs]unsafe.Pointer
	dst   [dcSegs]unsafe.Pointer
	ldc   int64
	mask  [dcSegs]int64
	bias  unsafe.Pointer
	accum int64
	nrows int64
}

// wgRows x wgCols is the weight-gradient kernel's tile.
const (
	wgRows = 4
	wgCols = 6
)

// wgArgs is the argument block of the weight-gradient kernel. For every
// segment s (src, dst byte offsets and a lane mask) and lane l in its mask it
// accumulates
//
//	out[m*6+j] += dy[rows[m] + s.dst + 4l] * src[cols[j] + s.src + 4l]
//
// (byte offsets), m < 4, j < 6, where the sum for (m, j) goes to
// out[wgSlot(m*6+j)] (the order the AVX-512 reduction leaves the sums in).
// nseg must be at least 1.
type wgArgs struct {
	dy   unsafe.Pointer
	rows *[wgRows]int64
	src  unsafe.Pointer
	cols *[wgCols]int64
	segs unsafe.Pointer
	nseg int64
	out  *[wgOut]float32
}

// wgOut is the size of the weight-gradient kernel's output block.
const wgOut = 32

// wgSlot is where the kernel leaves the sum of accumulator i = m*6+j:
// accumulators 0-15 in lanes 0-15, 16-19 in 16, 20, 24, 28 and 20-23 in
// 17, 21, 25, 29.
func wgSlot(i int) int {
	switch {
	case i < 16:
		return i
	case i < 20:
		return 16 + 4*(i-16)
	default:
		return 17 + 4*(i-20)
	}
}

// dcSeg is one run of up to 16 consecutive output positions: byte offsets
// into the source and destination and the mask of valid lanes.
type dcSeg struct {
	src, dst, mask int64
}

// kernels is one implementation of the microkernels. The engine picks the
// fastest the CPU supports (bestKernels); tests force each in turn through
// convEngine.kern / upEngine.kern.
type kernels struct {
	name string
	dc   func(*dcArgs)
	wg   func(*wgArgs)
}

var goKernels = &kernels{name: "go", dc: dcGo, wg: wgGo}

// bestKernels is the path layers use unless told otherwise.
func bestKernels() *kernels { return availableKernels()[0] }

func f32at(p unsafe.Pointer, off int64) *float32 { return (*float32)(unsafe.Add(p, off)) }

// dcGo is the portable direct-convolution kernel.
func dcGo(a *dcArgs) {
	var acc [dcRows][lanes]float32
	taps := unsafe.Slice((*int64)(a.taps), a.ntaps)
	w := unsafe.Slice((*float32)(a.a), a.nchan*a.ntaps*dcRows)
	for v := 0; v < dcSegs; v++ {
		mask := a.mask[v]
		if mask == 0 {
			continue
		}
		n := 0
		for mask>>n&1 != 0 {
			n++
		}
		for m := 0; m < dcRows; m++ {
			for l := 0; l < n; l++ {
				if a.accum != 0 {
					if int64(m) < a.nrows {
						acc[m][l] = *f32at(a.dst[v], int64(m)*a.ldc+4*int64(l))
					}
				} else {
					acc[m][l] = *f32at(a.bias, 4*int64(m))
				}
			}
		}
		k := 0
		for c := int64(0); c < a.nchan; c++ {
			base := unsafe.Add(a.src[v], c*a.cs)
			for _, t := range taps {
				row := unsafe.Slice(f32at(base, t), n)
				wk := w[k*dcRows : k*dcRows+dcRows]
				for m := 0; m < dcRows; m++ {
					wm := wk[m]
					am := acc[m][:n]
					for l, x := range row {
						am[l] += wm * x
					}
				}
				k++
			}
		}
		for m := int64(0); m < a.nrows; m++ {
			for l := 0; l < n; l++ {
				*f32at(a.dst[v], m*a.ldc+4*int64(l)) = acc[m][l]
			}
		}
	}
}

// wgGo is the portable weight-gradient kernel.
func wgGo(a *wgArgs) {
	segs := unsafe.Slice((*dcSeg)(a.segs), a.nseg)
	for m := 0; m < wgRows; m++ {
		for j := 0; j < wgCols; j++ {
			var s float32
			for _, sg := range segs {
				n := 0
				for sg.mask>>n&1 != 0 {
					n++
				}
				dy := unsafe.Slice(f32at(a.dy, a.rows[m]+sg.dst), n)
				x := unsafe.Slice(f32at(a.src, a.cols[j]+sg.src), n)
				for l, v := range dy {
					s += v * x[l]
				}
			}
			a.out[wgSlot(m*wgCols+j)] += s
		}
	}
}

// KernelPath names the microkernels layers use on this CPU ("avx512",
// "avx2" or "go"), for reports.
func KernelPath() string { return bestKernels().name }
