//go:build amd64

package nn

import (
	"math/bits"
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:noescape
func dcAVX512(args *dcArgs)

//go:noescape
func wgAVX512(args *wgArgs)

//go:noescape
func ilv2AVX512(dst, a, b *float32, n int, idx *[32]int32)

//go:noescape
func dilv2AVX512(a, b, src *float32, n int, idx *[32]int32)

//go:noescape
func dc2AVX2(args *dc2Args)

//go:noescape
func wg2AVX2(args *wg2Args)

var (
	avx512Kernels = &kernels{name: "avx512", dc: dcAVX512, wg: wgAVX512, ilv: ilvAVX512, dilv: dilvAVX512}
	avx2Kernels   = &kernels{name: "avx2", dc: dcAVX2, wg: wgAVX2, ilv: ilvGo, dilv: dilvGo}
)

// ilvIdx holds VPERMT2PS indices: lanes 0-15 of the interleaved pairs
// (a0 b0 a1 b1 ... a7 b7), then lanes 16-31 (a8 b8 ... a15 b15); dilvIdx
// the even then the odd elements of 32 consecutive floats.
var ilvIdx, dilvIdx = func() (ilv, dilv [32]int32) {
	for i := 0; i < 16; i++ {
		ilv[i] = int32(i/2 + 16*(i%2))
		ilv[16+i] = int32(8 + i/2 + 16*(i%2))
		dilv[i] = int32(2 * i)
		dilv[16+i] = int32(2*i + 1)
	}
	return
}()

func ilvAVX512(dst, a, b []float32) {
	n := len(a) &^ (lanes - 1)
	if n > 0 {
		_, _ = b[n-1], dst[2*n-1]
		ilv2AVX512(&dst[0], &a[0], &b[0], n, &ilvIdx)
	}
	ilvGo(dst[2*n:], a[n:], b[n:len(a)])
}

func dilvAVX512(a, b, src []float32) {
	n := len(a) &^ (lanes - 1)
	if n > 0 {
		_, _ = b[n-1], src[2*n-1]
		dilv2AVX512(&a[0], &b[0], &src[0], n, &dilvIdx)
	}
	dilvGo(a[n:], b[n:len(a)], src[2*n:])
}

// availableKernels lists the paths this CPU can run, fastest first; the
// portable Go path is always last. x/sys/cpu reports a vector extension only
// when the OS also saves its registers.
func availableKernels() []*kernels {
	var ks []*kernels
	if cpu.X86.HasAVX512F {
		ks = append(ks, avx512Kernels)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, avx2Kernels)
	}
	return append(ks, goKernels)
}

// laneMaskTab is 16 all-ones int32 followed by 16 zeros: the 8-lane mask
// for n valid lanes starts at element 16-n (VMASKMOVPS masks).
var laneMaskTab = [32]int32{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}

// dc2Args is the argument block of the AVX2 direct-convolution kernel: 4
// rows (a steps 32 bytes per tap as in dcArgs) and 3 vectors of 8 lanes.
type dc2Args struct {
	a     unsafe.Pointer
	taps  unsafe.Pointer
	ntaps int64
	nchan int64
	cs    int64
	src   [3]unsafe.Pointer
	dst   [3]unsafe.Pointer
	ldc   int64
	mask  [3]*int32
	bias  unsafe.Pointer
	accum int64
	nrows int64
	full  int64
}

// dcAVX2 runs one dcArgs tile (8 rows x 3 segments of 16 lanes) as four
// AVX2 calls: two groups of three 8-lane vectors, each for rows 0-3 and 4-7.
func dcAVX2(a *dcArgs) {
	s := dc2Args{taps: a.taps, ntaps: a.ntaps, nchan: a.nchan, cs: a.cs, ldc: a.ldc, accum: a.accum}
	var n [dcSegs]int
	for v := range n {
		n[v] = bits.OnesCount64(uint64(a.mask[v]))
	}
	// Every pointer handed on stays inside its tensor (the garbage
	// collector and checkptr require it): an empty half-vector points at
	// its segment's start, and only existing rows are addressed.
	var dst0 [3]unsafe.Pointer
	for pass := 0; pass < 2; pass++ {
		full := true
		for i := 0; i < 3; i++ {
			hv := pass*3 + i
			seg, part := hv/2, hv%2
			k := min(max(n[seg]-8*part, 0), 8)
			full = full && k == 8
			off := 0
			if k > 0 {
				off = 32 * part
			}
			s.src[i] = unsafe.Add(a.src[seg], off)
			dst0[i] = unsafe.Add(a.dst[seg], off)
			s.mask[i] = &laneMaskTab[16-k]
		}
		s.full = 0
		if full {
			s.full = 1
		}
		for rh := 0; rh < 2; rh++ {
			rows := a.nrows - 4*int64(rh)
			if rows <= 0 {
				break
			}
			s.a = unsafe.Add(a.a, 16*rh)
			s.bias = unsafe.Add(a.bias, 16*rh)
			s.nrows = min(rows, 4)
			for i := range s.dst {
				s.dst[i] = unsafe.Add(dst0[i], 4*int64(rh)*a.ldc)
			}
			dc2AVX2(&s)
		}
	}
}

// wg2Args is the argument block of the AVX2 weight-gradient kernel (4 rows
// x 2 columns of the 4x6 tile).
type wg2Args struct {
	dy   unsafe.Pointer
	rows *[wgRows]int64
	src  unsafe.Pointer
	cols *int64
	segs unsafe.Pointer
	nseg int64
	out  *[8]float32
	tab  *int32
}

// wgAVX2 runs one wgArgs tile as three AVX2 calls of two columns each.
func wgAVX2(a *wgArgs) {
	var out [8]float32
	s := wg2Args{dy: a.dy, rows: a.rows, src: a.src, segs: a.segs, nseg: a.nseg, out: &out, tab: &laneMaskTab[0]}
	for j := 0; j < wgCols; j += 2 {
		s.cols = &a.cols[j]
		clear(out[:])
		wg2AVX2(&s)
		for m := 0; m < wgRows; m++ {
			a.out[wgSlot(m*wgCols+j)] += out[2*m]
			a.out[wgSlot(m*wgCols+j+1)] += out[2*m+1]
		}
	}
}
