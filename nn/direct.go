package nn

import (
	"math/bits"
	"unsafe"
)

// The engine expresses every convolution pass as one of two primitives over
// a source tensor laid out so that the 16 output positions of a segment read
// 16 consecutive floats for every kernel tap:
//
//   - dcRun: dst[r, seg] = bias[r] + sum_{c,t} A[r,c,t] * src[c, seg + tap[t]]
//     (forward, backward-data and the transposed convolution), and
//   - wgRun: out[r, c*T+t] += sum_seg dy[r, seg] * src[c, seg + tap[t]]
//     (weight gradients).
//
// Stride 2 is handled by splitting the padded source into its even and odd
// columns (dcPrep), which makes the taps of a strided output row consecutive
// again; the transposed convolution 2x2x2 stride 2 becomes one 1x1 product
// with 8*out rows followed by an interleave.

// dcPlan is the geometry of one dcRun/wgRun: source channel stride cs (in
// elements), the taps (byte offsets) and the segments.
type dcPlan struct {
	cs   int
	taps []int64
	segs []dcSeg
	// col, when set, is the plan to run instead on the im2col copy of the
	// source (see useCol).
	col *dcPlan
	// wg caches wgRun's offset tables (wgOffsets).
	wg struct {
		nrows, ldy, nchan int
		rows, cols        []int64
	}
}

// colMaxBytes caps the im2col copy; beyond it the plan runs directly with
// whatever lanes it wastes.
const colMaxBytes = 64 << 20

// useCol decides whether the plan runs on an im2col copy of its source:
// col[c*T+t][i] = src[c*cs + tap[t] + position i], one row per (channel,
// tap) and the output positions in order. The copy makes every segment
// full, which pays when output rows are short (widths 4, 8, 12 of the
// U-Net's deep levels fill a quarter to three quarters of the 16 lanes)
// and costs one pass over nchan*T*positions floats, small next to the
// 2*rows flops each of them feeds. The packed weights need no change: their
// channel-major (c, t) order is the copy's row order.
func (p *dcPlan) useCol(nchan int) {
	p.col = nil
	var valid int
	for _, s := range p.segs {
		valid += bits.OnesCount64(uint64(s.mask))
	}
	if len(p.segs) == 0 {
		return
	}
	rowEff := float64(valid) / float64(lanes*len(p.segs))
	if rowEff >= 0.75 || 4*nchan*len(p.taps)*valid > colMaxBytes {
		return
	}
	p.col = &dcPlan{cs: valid, taps: []int64{0}, segs: flatSegs(nil, valid)}
}

// im2col writes the copy useCol describes into col (grown as needed).
func im2col(p *dcPlan, src []float32, nchan int, col []float32, threads int) []float32 {
	T, n := len(p.taps), p.col.cs
	col = growF32(col, nchan*T*n)
	parallelFor(threads, nchan*T, func(_, lo, hi int) {
		for ct := lo; ct < hi; ct++ {
			c, t := ct/T, ct%T
			base := c*p.cs + int(p.taps[t]/4)
			row := col[ct*n : (ct+1)*n]
			for _, s := range p.segs {
				k := bits.OnesCount64(uint64(s.mask))
				d := int(s.dst / 4)
				copy(row[d:d+k], src[base+int(s.src/4):])
			}
		}
	})
	return col
}

// grow returns s resized to n, reusing its storage when it is big enough.
func growSlice[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}

func laneMask(n int) int64 { return int64(1)<<min(n, lanes) - 1 }

// rowSegs appends the segments of an output grid od x oh x ow whose source
// row (od, oh) starts at element srcRow(od, oh) and destination row at
// (od*oh + oh)*ow.
func rowSegs(segs []dcSeg, od, oh, ow int, srcRow func(d, h int) int) []dcSeg {
	segs = segs[:0]
	for d := 0; d < od; d++ {
		for h := 0; h < oh; h++ {
			s, o := srcRow(d, h), (d*oh+h)*ow
			for w := 0; w < ow; w += lanes {
				segs = append(segs, dcSeg{src: 4 * int64(s+w), dst: 4 * int64(o+w), mask: laneMask(ow - w)})
			}
		}
	}
	return segs
}

// flatSegs appends the segments covering n consecutive positions.
func flatSegs(segs []dcSeg, n int) []dcSeg {
	segs = segs[:0]
	for i := 0; i < n; i += lanes {
		segs = append(segs, dcSeg{src: 4 * int64(i), dst: 4 * int64(i), mask: laneMask(n - i)})
	}
	return segs
}

// prepGeom is the layout dcPrep produces for a kernel k, stride s, padding
// p and an output grid od x oh x ow: per channel pd x ph rows of s phases of
// wh floats. Source column s*j+phase-p of row (z-p, y-p) sits at
// ((z*ph + y)*s + phase)*wh + j.
type prepGeom struct {
	k, s, p    int
	id, ih, iw int
	od, oh, ow int
	pd, ph, wh int
}

func newPrepGeom(k, s, p, id, ih, iw, od, oh, ow int) prepGeom {
	return prepGeom{k: k, s: s, p: p, id: id, ih: ih, iw: iw, od: od, oh: oh, ow: ow,
		pd: s*(od-1) + k, ph: s*(oh-1) + k, wh: ow + (k-1)/s}
}

func (g *prepGeom) chanLen() int { return g.pd * g.ph * g.s * g.wh }

// taps returns the byte offsets of the k^3 taps (kd, kh, kw) in order.
func (g *prepGeom) taps(dst []int64) []int64 {
	dst = dst[:0]
	rs := g.s * g.wh
	for kd := 0; kd < g.k; kd++ {
		for kh := 0; kh < g.k; kh++ {
			for kw := 0; kw < g.k; kw++ {
				dst = append(dst, 4*int64((kd*g.ph+kh)*rs+(kw%g.s)*g.wh+kw/g.s))
			}
		}
	}
	return dst
}

// segs returns the segments of the output grid.
func (g *prepGeom) segs(dst []dcSeg) []dcSeg {
	rs := g.s * g.wh
	return rowSegs(dst, g.od, g.oh, g.ow, func(d, h int) int { return (g.s*d*g.ph + g.s*h) * rs })
}

// dcPrep writes the padded, phase-split copy of the c channels of x (each
// id x ih x iw) into dst (c * chanLen floats). k, when not nil, supplies the
// vector even/odd split for stride 2.
func dcPrep(k *kernels, g *prepGeom, dst, x []float32, c, threads int) {
	in, cl := g.id*g.ih*g.iw, g.chanLen()
	parallelFor(threads, c*g.pd, func(_, lo, hi int) {
		for cz := lo; cz < hi; cz++ {
			ch, z := cz/g.pd, cz%g.pd
			plane := dst[ch*cl+z*g.ph*g.s*g.wh : ch*cl+(z+1)*g.ph*g.s*g.wh]
			iz := z - g.p
			if iz < 0 || iz >= g.id {
				clear(plane)
				continue
			}
			xc := x[ch*in+iz*g.ih*g.iw : ch*in+(iz+1)*g.ih*g.iw]
			for y := 0; y < g.ph; y++ {
				row := plane[y*g.s*g.wh : (y+1)*g.s*g.wh]
				iy := y - g.p
				if iy < 0 || iy >= g.ih {
					clear(row)
					continue
				}
				xr := xc[iy*g.iw : (iy+1)*g.iw]
				if g.s == 1 {
					lo := min(g.p, g.wh)
					clear(row[:lo])
					n := copy(row[lo:], xr)
					clear(row[lo+n:])
					continue
				}
				if g.s == 2 && g.p == 1 && k != nil {
					// Odd columns go to phase 0 (after its leading pad),
					// even columns to phase 1.
					r0, r1 := row[:g.wh], row[g.wh:]
					np := g.iw / 2
					r0[0] = 0
					k.dilv(r1[:np], r0[1:1+np], xr[:2*np])
					clear(r0[1+np:])
					e := np
					if g.iw%2 == 1 {
						r1[np] = xr[g.iw-1]
						e++
					}
					clear(r1[e:])
					continue
				}
				for ph := 0; ph < g.s; ph++ {
					r := row[ph*g.wh : (ph+1)*g.wh]
					for j := range r {
						ix := g.s*j + ph - g.p
						if ix >= 0 && ix < g.iw {
							r[j] = xr[ix]
						} else {
							r[j] = 0
						}
					}
				}
			}
		}
	})
}

// packA lays out the weights W[r*rs + c*cs + tapIdx[t]] for rows r < nrows,
// channels c < nchan as blocks of 8 rows: A[rb][c][t][8], zero-padding the
// last block. Weights change every step, so this runs on every pass; for
// the deep layers (millions of weights, few voxels) it is worth splitting
// between workers.
func packA(dst, w []float32, nrows, nchan, rs, cs int, tapIdx []int, threads int) []float32 {
	return packAOff(dst, w, nrows, nchan, rs, cs, nil, tapIdx, threads)
}

// packAOff is packA with channel c at offset chanOff[c] instead of c*cs
// when chanOff is not nil.
func packAOff(dst, w []float32, nrows, nchan, rs, cs int, chanOff, tapIdx []int, threads int) []float32 {
	nb, T := (nrows+dcRows-1)/dcRows, len(tapIdx)
	blk := nchan * T * dcRows
	dst = growSlice(dst, nb*blk)
	if nb*blk < 1<<16 {
		threads = 1
	}
	parallelFor(threads, nb, func(_, lo, hi int) {
		for rb := lo; rb < hi; rb++ {
			d := dst[rb*blk : (rb+1)*blk]
			mr := min(dcRows, nrows-rb*dcRows)
			for c := 0; c < nchan; c++ {
				co := c * cs
				if chanOff != nil {
					co = chanOff[c]
				}
				dc := d[c*T*dcRows : (c+1)*T*dcRows]
				for m := 0; m < mr; m++ {
					wc := w[(rb*dcRows+m)*rs+co:]
					for t, ti := range tapIdx {
						dc[t*dcRows+m] = wc[ti]
					}
				}
				for m := mr; m < dcRows; m++ {
					for t := 0; t < T; t++ {
						dc[t*dcRows+m] = 0
					}
				}
			}
		}
	})
	return dst
}

// shiftGeom is the layout for stride-1 convolutions with short rows: one
// copy of the source per kernel column kw, shifted by kw so that rows need
// no padding columns, copy[c][kw][z][y][x] = src[c][z-p][y-p][x+kw-p] (zero
// outside). Without padding columns the rows of a plane are contiguous in
// the copy as in the output, so segments run across rows and only the end
// of a plane leaves lanes empty (widths 4, 8, 12, 20 fill every lane). The
// kernel then sees k*C channels (c, kw) of k*k taps (kd, kh).
type shiftGeom struct {
	k, p, d, h, w, pd, ph int
}

func newShiftGeom(k, p, d, h, w int) shiftGeom {
	return shiftGeom{k: k, p: p, d: d, h: h, w: w, pd: d + 2*p, ph: h + 2*p}
}

// chanLen is the length of one (channel, kw) copy.
func (g *shiftGeom) chanLen() int { return g.pd * g.ph * g.w }

func (g *shiftGeom) taps() []int64 {
	var t []int64
	for kd := 0; kd < g.k; kd++ {
		for kh := 0; kh < g.k; kh++ {
			t = append(t, 4*int64((kd*g.ph+kh)*g.w))
		}
	}
	return t
}

// segs covers each output plane (h*w positions, contiguous in source and
// destination) with 16-lane segments.
func (g *shiftGeom) segs(segs []dcSeg) []dcSeg {
	segs = segs[:0]
	n := g.h * g.w
	for z := 0; z < g.d; z++ {
		s, o := z*g.ph*g.w, z*n
		for i := 0; i < n; i += lanes {
			segs = append(segs, dcSeg{src: 4 * int64(s+i), dst: 4 * int64(o+i), mask: laneMask(n - i)})
		}
	}
	return segs
}

// prep writes the k shifted copies of the c channels of x into dst.
func (g *shiftGeom) prep(dst, x []float32, c, threads int) {
	in, cl := g.d*g.h*g.w, g.chanLen()
	plane := g.ph * g.w
	parallelFor(threads, c*g.k*g.pd, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			ckw, z := i/g.pd, i%g.pd
			ch, kw := ckw/g.k, ckw%g.k
			pl := dst[ckw*cl+z*plane : ckw*cl+(z+1)*plane]
			iz := z - g.p
			if iz < 0 || iz >= g.d {
				clear(pl)
				continue
			}
			// Columns x+kw-p inside [0, w): x in [x0, x1).
			x0, x1 := max(0, g.p-kw), min(g.w, g.w+g.p-kw)
			for y := 0; y < g.ph; y++ {
				row := pl[y*g.w : (y+1)*g.w]
				iy := y - g.p
				if iy < 0 || iy >= g.h || x0 >= x1 {
					clear(row)
					continue
				}
				xr := x[ch*in+(iz*g.h+iy)*g.w:]
				clear(row[:x0])
				copy(row[x0:x1], xr[x0+kw-g.p:x1+kw-g.p])
				clear(row[x1:])
			}
		}
	})
}

// padBias returns the bias padded to whole blocks of 8 rows (zero when b is
// nil); rowsPer > 1 repeats each value for that many consecutive rows.
func padBias(dst, b []float32, nrows, rowsPer int) []float32 {
	dst = growSlice(dst, (nrows+dcRows-1)/dcRows*dcRows)
	clear(dst)
	if b != nil {
		for r := 0; r < nrows; r++ {
			dst[r] = b[r/rowsPer]
		}
	}
	return dst
}

// dcRun computes dst[r*ldc + seg.dst] for all rows r < nrows and segments
// of the plan from the packed weights a (packA with len(taps) taps), nchan
// source channels and bias (padBias). Workers take contiguous runs of
// segment triples; each triple is finished for all row blocks before the
// next, so its source rows stay in cache while the weights stream by.
//
// When the plan has an im2col form, the source is first copied into *col
// (scratch kept by the caller) and the flat plan runs on the copy.
func dcRun(k *kernels, p *dcPlan, a []float32, nrows, nchan int, src, dst []float32, ldc int, bias []float32, col *[]float32, threads int) {
	if len(p.segs) == 0 || nrows == 0 {
		return
	}
	if p.col != nil {
		*col = im2col(p, src, nchan, *col, threads)
		dcRun(k, p.col, a, nrows, nchan*len(p.taps), *col, dst, ldc, bias, nil, threads)
		return
	}
	T := len(p.taps)
	nb := (nrows + dcRows - 1) / dcRows
	ng := (len(p.segs) + dcSegs - 1) / dcSegs
	// Channel blocking: with many channels, the weights of one block of
	// channels (all rows) stay in L2 while a chunk of segment groups, whose
	// outputs also stay in L2, accumulates block after block.
	cb := nchan
	if nchan*T > 2*dcKBlock {
		cb = max(1, dcKBlock/T)
	}
	gchunk := max(1, dcOutBlock/(nrows*dcSegs*lanes*4))
	sp, dp := unsafe.Pointer(unsafe.SliceData(src)), unsafe.Pointer(unsafe.SliceData(dst))
	// work runs segment groups [glo, ghi) for row blocks [rlo, rhi).
	work := func(glo, ghi, rlo, rhi int) {
		args := dcArgs{
			taps: unsafe.Pointer(&p.taps[0]), ntaps: int64(T),
			cs: 4 * int64(p.cs), ldc: 4 * int64(ldc),
		}
		for g0 := glo; g0 < ghi; g0 += gchunk {
			for c0 := 0; c0 < nchan; c0 += cb {
				c1 := min(nchan, c0+cb)
				args.nchan = int64(c1 - c0)
				args.accum = 0
				if c0 > 0 {
					args.accum = 1
				}
				for g := g0; g < min(ghi, g0+gchunk); g++ {
					segs := p.segs[g*dcSegs : min(len(p.segs), (g+1)*dcSegs)]
					for v := 0; v < dcSegs; v++ {
						s := segs[0]
						args.mask[v] = 0
						if v < len(segs) {
							s = segs[v]
							args.mask[v] = s.mask
						}
						args.src[v] = unsafe.Add(sp, s.src+4*int64(c0*p.cs))
					}
					for rb := rlo; rb < rhi; rb++ {
						args.a = unsafe.Pointer(&a[(rb*nchan+c0)*T*dcRows])
						args.bias = unsafe.Pointer(&bias[rb*dcRows])
						args.nrows = int64(min(dcRows, nrows-rb*dcRows))
						for v := 0; v < dcSegs; v++ {
							s := segs[0]
							if v < len(segs) {
								s = segs[v]
							}
							args.dst[v] = unsafe.Add(dp, s.dst+4*int64(rb*dcRows*ldc))
						}
						k.dc(&args)
					}
				}
			}
		}
	}
	// Workers split the segment groups, or the row blocks when there are
	// too few groups to share (deep layers: few voxels, many channels),
	// which also splits the weights each worker streams.
	if ng >= 4*workers(threads) || nb < 2*ng {
		parallelFor(threads, ng, func(_, lo, hi int) { work(lo, hi, 0, nb) })
	} else {
		parallelFor(threads, nb, func(_, lo, hi int) { work(0, ng, lo, hi) })
	}
}

// dcKBlock is the number of kernel steps (channel x tap) per channel block
// and dcOutBlock the bytes of output a chunk of segment groups may cover.
const (
	dcKBlock   = 512
	dcOutBlock = 256 << 10
)

// wgChunk is the number of segments one weight-gradient kernel call sums:
// few enough that the chunk's rows of dy and of one source channel stay in
// L1 while the column tiles of that channel go by.
const wgChunk = 192

// wgRun adds out[r*(nchan*T) + c*T + t] += sum over segments of
// dy[r*ldy + seg.dst] * src[c*cs + seg.src + tap[t]] for r < nrows.
// The output tiles are split between workers, so no two write the same
// element and no partial sums need merging; each tile's sums build up in
// part (per tile wgOut floats, grown as needed and returned) across the
// chunks and are added to out at the end.
//
// outCol, when not nil, maps the column c*T+t to the column of out that
// receives it (the shifted layout orders its columns differently from
// PyTorch's weight).
func wgRun(k *kernels, p *dcPlan, nrows, nchan int, dy []float32, ldy int, src []float32, out, part []float32, outCol []int, col *[]float32, threads int) []float32 {
	if len(p.segs) == 0 || nrows == 0 {
		return part
	}
	if p.col != nil {
		*col = im2col(p, src, nchan, *col, threads)
		return wgRun(k, p.col, nrows, nchan*len(p.taps), dy, ldy, *col, out, part, outCol, nil, threads)
	}
	T := len(p.taps)
	ncols := nchan * T
	nrb, ncb := (nrows+wgRows-1)/wgRows, (ncols+wgCols-1)/wgCols
	part = growF32(part, nrb*ncb*wgOut)
	clear(part)
	rowOff, colOff := p.wgOffsets(nrows, ldy, nchan)
	dp, sp := unsafe.Pointer(unsafe.SliceData(dy)), unsafe.Pointer(unsafe.SliceData(src))
	parallelFor(threads, nrb*ncb, func(_, lo, hi int) {
		args := wgArgs{dy: dp, src: sp}
		// The chunks fix the order of the sums, and with it the trained
		// model bit for bit (train's golden model): chunks of equal size
		// were 5% faster at 16^3 x 64 and would change it.
		for s0 := 0; s0 < len(p.segs); s0 += wgChunk {
			segs := p.segs[s0:min(len(p.segs), s0+wgChunk)]
			args.segs = unsafe.Pointer(&segs[0])
			args.nseg = int64(len(segs))
			for ti := lo; ti < hi; ti++ {
				rb, cb := ti/ncb, ti%ncb
				args.rows = (*[wgRows]int64)(rowOff[rb*wgRows:])
				args.cols = (*[wgCols]int64)(colOff[cb*wgCols:])
				args.out = (*[wgOut]float32)(part[ti*wgOut:])
				k.wg(&args)
			}
		}
		for ti := lo; ti < hi; ti++ {
			rb, cb := ti/ncb, ti%ncb
			tile := part[ti*wgOut : (ti+1)*wgOut]
			for m := 0; m < wgRows && rb*wgRows+m < nrows; m++ {
				o := out[(rb*wgRows+m)*ncols:]
				for j := 0; j < wgCols && cb*wgCols+j < ncols; j++ {
					q := cb*wgCols + j
					if outCol != nil {
						q = outCol[q]
					}
					o[q] += tile[wgSlot(m*wgCols+j)]
				}
			}
		}
	})
	return part
}

// wgOffsets returns the byte offsets of every row of dy and every column
// (channel, tap) of the source for wgRun, laid out tile by tile (a partial
// tile repeats its first entry, whose sums are then ignored), so a kernel
// call only points at its tile's entries: the per-call setup had been a
// division per column, for every tile and chunk. They are kept in the plan
// for the next call with the same rows.
func (p *dcPlan) wgOffsets(nrows, ldy, nchan int) (rows, cols []int64) {
	w := &p.wg
	if w.nrows == nrows && w.ldy == ldy && w.nchan == nchan && w.cols != nil {
		return w.rows, w.cols
	}
	T := len(p.taps)
	ncols := nchan * T
	w.rows = growSlice(w.rows, (nrows+wgRows-1)/wgRows*wgRows)
	for i := range w.rows {
		r := i
		if r >= nrows {
			r = i / wgRows * wgRows
		}
		w.rows[i] = 4 * int64(r*ldy)
	}
	w.cols = growSlice(w.cols, (ncols+wgCols-1)/wgCols*wgCols)
	for i := range w.cols {
		q := i
		if q >= ncols {
			q = i / wgCols * wgCols
		}
		w.cols[i] = 4*int64(q/T*p.cs) + p.taps[q%T]
	}
	w.nrows, w.ldy, w.nchan = nrows, ldy, nchan
	return w.rows, w.cols
}

// sumRows adds the sum of each of the nrows rows of x (length n each) to
// db[r], in float64 so long rows lose nothing.
func sumRows(db, x []float32, nrows, n, threads int) {
	parallelFor(threads, nrows, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			row := x[r*n : (r+1)*n]
			var s0, s1, s2, s3 float32
			var s float64
			i := 0
			for ; i+4 <= len(row); i += 4 {
				s0 += row[i]
				s1 += row[i+1]
				s2 += row[i+2]
				s3 += row[i+3]
				if i&1023 == 0 {
					s += float64(s0) + float64(s1) + float64(s2) + float64(s3)
					s0, s1, s2, s3 = 0, 0, 0, 0
				}
			}
			for ; i < len(row); i++ {
				s0 += row[i]
			}
			s += float64(s0) + float64(s1) + float64(s2) + float64(s3)
			db[r] += float32(s)
		}
	})
}
