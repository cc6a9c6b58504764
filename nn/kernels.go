package nn

import (
	"fmt"
	"math/bits"
	"os"
	"strings"
	"sync"
	"unsafe"
)

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
	// ilv sets dst[2i] = a[i], dst[2i+1] = b[i]; dilv is its inverse. They
	// move the transposed convolution's parities and split stride-2 rows.
	ilv  func(dst, a, b []float32)
	dilv func(a, b, src []float32)
}

var goKernels = &kernels{name: "go", dc: dcGo, wg: wgGo, ilv: ilvGo, dilv: dilvGo}

func ilvGo(dst, a, b []float32) {
	b = b[:len(a)]
	dst = dst[:2*len(a)]
	for i, v := range a {
		pr := dst[2*i : 2*i+2 : 2*i+2]
		pr[0], pr[1] = v, b[i]
	}
}

func dilvGo(a, b, src []float32) {
	b = b[:len(a)]
	src = src[:2*len(a)]
	for i := range a {
		pr := src[2*i : 2*i+2 : 2*i+2]
		a[i], b[i] = pr[0], pr[1]
	}
}

// KernelsEnv names the environment variable that forces a kernel path
// ("avx512", "avx2" or "go") in place of the fastest this CPU runs, as
// OPENBLAS_CORETYPE does for OpenBLAS: to measure the AVX2 kernels on an
// AVX-512 machine (OTOSEG_KERNELS=avx2 otoseg bench engine), or to rule
// the vector kernels out when chasing a difference. A path this CPU cannot
// run is an error (CheckKernels); the layers then use the fastest.
const KernelsEnv = "OTOSEG_KERNELS"

// chosenKernels reads KernelsEnv once: the path must not change under a
// network between passes.
var chosenKernels = sync.OnceValues(func() (*kernels, error) {
	return pickKernels(os.Getenv(KernelsEnv), availableKernels())
})

// pickKernels returns the path named (the first of avail when name is
// empty), or the first with an error when avail lacks it.
func pickKernels(name string, avail []*kernels) (*kernels, error) {
	if name == "" {
		return avail[0], nil
	}
	var names []string
	for _, k := range avail {
		if k.name == name {
			return k, nil
		}
		names = append(names, k.name)
	}
	return avail[0], fmt.Errorf("%s=%s: this CPU runs the kernel paths %s", KernelsEnv, name, strings.Join(names, ", "))
}

// bestKernels is the path layers use unless told otherwise.
func bestKernels() *kernels {
	k, _ := chosenKernels()
	return k
}

// CheckKernels reports a KernelsEnv value naming a path this CPU cannot
// run, so that a command can refuse it rather than measure another path.
func CheckKernels() error {
	_, err := chosenKernels()
	return err
}

func f32at(p unsafe.Pointer, off int64) *float32 { return (*float32)(unsafe.Add(p, off)) }

// dcGo is the portable direct-convolution kernel. It blocks 4 rows x 2
// lanes in scalar accumulators (14 live floats, within the 15 registers
// Go's amd64 code generator has for them; more on arm64), so each source
// and weight load feeds several multiply-adds.
func dcGo(a *dcArgs) {
	taps := unsafe.Slice((*int64)(a.taps), a.ntaps)
	for v := 0; v < dcSegs; v++ {
		mask := a.mask[v]
		if mask == 0 {
			continue
		}
		n := bits.OnesCount64(uint64(mask))
		for m0 := 0; m0 < dcRows; m0 += 4 {
			if int64(m0) >= a.nrows {
				break
			}
			for l := 0; l < n; l += 2 {
				two := l+1 < n
				// acc[i][j]: row m0+i, lane l+j.
				var acc [4][2]float32
				for i := 0; i < 4; i++ {
					m := int64(m0 + i)
					for j := 0; j < 2; j++ {
						if j == 1 && !two {
							continue
						}
						if a.accum == 0 {
							acc[i][j] = *f32at(a.bias, 4*m)
						} else if m < a.nrows {
							acc[i][j] = *f32at(a.dst[v], m*a.ldc+4*int64(l+j))
						}
					}
				}
				a00, a01, a10, a11 := acc[0][0], acc[0][1], acc[1][0], acc[1][1]
				a20, a21, a30, a31 := acc[2][0], acc[2][1], acc[3][0], acc[3][1]
				// Offsets rather than moving pointers: a pointer stepped
				// past the last element would leave its allocation.
				wo := int64(4 * m0)
				so := int64(4 * l)
				for c := int64(0); c < a.nchan; c++ {
					for _, t := range taps {
						x0 := *f32at(a.src[v], so+t)
						var x1 float32
						if two {
							x1 = *f32at(a.src[v], so+t+4)
						}
						w0, w1, w2, w3 := *f32at(a.a, wo), *f32at(a.a, wo+4), *f32at(a.a, wo+8), *f32at(a.a, wo+12)
						a00 += w0 * x0
						a01 += w0 * x1
						a10 += w1 * x0
						a11 += w1 * x1
						a20 += w2 * x0
						a21 += w2 * x1
						a30 += w3 * x0
						a31 += w3 * x1
						wo += 4 * dcRows
					}
					so += a.cs
				}
				acc = [4][2]float32{{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}}
				for i := 0; i < 4; i++ {
					m := int64(m0 + i)
					if m >= a.nrows {
						break
					}
					*f32at(a.dst[v], m*a.ldc+4*int64(l)) = acc[i][0]
					if two {
						*f32at(a.dst[v], m*a.ldc+4*int64(l+1)) = acc[i][1]
					}
				}
			}
		}
	}
}

// wgGo is the portable weight-gradient kernel: 2 rows x 3 columns of
// scalar accumulators at a time, so each load feeds several multiply-adds.
func wgGo(a *wgArgs) {
	segs := unsafe.Slice((*dcSeg)(a.segs), a.nseg)
	for m0 := 0; m0 < wgRows; m0 += 2 {
		for j0 := 0; j0 < wgCols; j0 += 3 {
			var s00, s01, s02, s10, s11, s12 float32
			r0, r1 := a.rows[m0], a.rows[m0+1]
			c0, c1, c2 := a.cols[j0], a.cols[j0+1], a.cols[j0+2]
			for _, sg := range segs {
				n := bits.OnesCount64(uint64(sg.mask))
				dy := unsafe.Add(a.dy, sg.dst)
				x := unsafe.Add(a.src, sg.src)
				for l := int64(0); l < int64(4*n); l += 4 {
					d0, d1 := *f32at(dy, r0+l), *f32at(dy, r1+l)
					x0, x1, x2 := *f32at(x, c0+l), *f32at(x, c1+l), *f32at(x, c2+l)
					s00 += d0 * x0
					s01 += d0 * x1
					s02 += d0 * x2
					s10 += d1 * x0
					s11 += d1 * x1
					s12 += d1 * x2
				}
			}
			a.out[wgSlot(m0*wgCols+j0)] += s00
			a.out[wgSlot(m0*wgCols+j0+1)] += s01
			a.out[wgSlot(m0*wgCols+j0+2)] += s02
			a.out[wgSlot((m0+1)*wgCols+j0)] += s10
			a.out[wgSlot((m0+1)*wgCols+j0+1)] += s11
			a.out[wgSlot((m0+1)*wgCols+j0+2)] += s12
		}
	}
}

// KernelPath names the microkernels layers use on this CPU ("avx512",
// "avx2" or "go": the fastest it runs, or KernelsEnv's choice), for
// reports.
func KernelPath() string { return bestKernels().name }
