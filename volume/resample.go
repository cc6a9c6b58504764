package volume

import (
	"fmt"
	"math"

	"github.com/otoseg/otoseg/internal/parallel"
)

// Interp selects how Resample and ResampleTo compute a value between voxel
// centres.
type Interp int

const (
	// Nearest takes the closest voxel (scipy order=0: index floor(x+0.5)).
	Nearest Interp = iota
	// Linear is trilinear interpolation (scipy order=1).
	Linear
	// BSpline is cubic B-spline interpolation with the interpolating
	// prefilter (scipy order=3, prefilter=True, mode='mirror').
	BSpline
)

var interpNames = [...]string{"nearest", "linear", "bspline"}

func (i Interp) String() string {
	if i >= 0 && int(i) < len(interpNames) {
		return interpNames[i]
	}
	return fmt.Sprintf("Interp(%d)", int(i))
}

// ParseInterp returns the Interp named s ("nearest", "linear", "bspline").
func ParseInterp(s string) (Interp, error) {
	for i, n := range interpNames {
		if n == s {
			return Interp(i), nil
		}
	}
	return 0, fmt.Errorf("unknown interpolation %q (want nearest, linear or bspline)", s)
}

// ResampledGeometry is the grid Resample produces for spacing: the same
// origin (first voxel centre) and direction, and per axis
// dims = max(1, round(dims*oldSpacing/spacing)), so the physical extent
// dims*spacing is kept as closely as whole voxels allow (nnU-Net's rule).
// The new voxel centres are at origin + direction*spacing*index; the last
// may lie past the old last centre and then takes the edge value.
func ResampledGeometry(g Geometry, spacing [3]float64) (Geometry, error) {
	out := g
	for a := 0; a < 3; a++ {
		if !(spacing[a] > 0) || math.IsInf(spacing[a], 0) {
			return out, fmt.Errorf("volume: resample: spacing %v must be positive and finite", spacing)
		}
		n := math.Round(float64(g.Dims[a]) * g.Spacing[a] / spacing[a])
		if n < 1 {
			n = 1
		}
		if n > MaxVoxels {
			return out, fmt.Errorf("volume: resample: %d voxels on axis %d", int64(n), a)
		}
		out.Dims[a] = int(n)
		out.Spacing[a] = spacing[a]
	}
	if err := out.Validate(); err != nil {
		return out, fmt.Errorf("volume: resample to spacing %v: %w", spacing, err)
	}
	return out, nil
}

// Resample returns v on a grid of the given spacing (see ResampledGeometry).
// Sample positions are clamped to the input's voxel-centre extent on each
// axis, which for Linear and Nearest is scipy's mode='nearest'; BSpline
// coefficients use mirror boundaries (scipy mode='mirror') and are then
// sampled at the clamped positions. The result keeps v.DType. Use
// ResampleLabels for label maps.
func Resample(v *Volume, spacing [3]float64, interp Interp) (*Volume, error) {
	tg, err := ResampledGeometry(v.Geometry, spacing)
	if err != nil {
		return nil, err
	}
	return resample(v, tg, interp, false, 0)
}

// ResampleToFill is ResampleTo with the value given to target voxels that
// lie more than half a voxel outside the input (e.g. -1024 for CT).
func ResampleToFill(v *Volume, target Geometry, interp Interp, fill float32) (*Volume, error) {
	if err := target.Validate(); err != nil {
		return nil, fmt.Errorf("volume: resample target: %w", err)
	}
	return resample(v, target, interp, true, fill)
}

func resample(v *Volume, tg Geometry, interp Interp, useFill bool, fill float32) (*Volume, error) {
	if err := v.Check(); err != nil {
		return nil, fmt.Errorf("volume: resample input: %w", err)
	}
	var k int
	switch interp {
	case Nearest:
		k = 1
	case Linear:
		k = 2
	case BSpline:
		k = 4
	default:
		return nil, fmt.Errorf("volume: resample: unknown interpolation %v", interp)
	}
	if interp == BSpline {
		// The prefilter needs a float32 copy of its whole input, so prefilter
		// only the part of v the target reads (plus a margin over which the
		// filter's influence, 0.268^d, has decayed below float32 precision).
		// Where the target reaches past v's edge the box stops at that edge,
		// so edge and fill handling are unchanged.
		if lo, hi := readBox(v.Geometry, tg, splineMargin); boxLen(lo, hi) < v.Len() {
			c, err := Crop(v, lo, hi)
			if err != nil {
				return nil, err
			}
			v = c
		}
	}
	src := v.Data
	if interp == BSpline {
		src = bsplineCoefficients(v)
	}
	out := New(tg, v.DType)
	m := newMapping(v.Geometry, tg)
	s := sampler{src: src, dims: v.Dims, k: k, useFill: useFill, fill: fill}
	s.lo, s.hi = targetBox(v.Geometry, tg, useFill)
	if m.diagonal(tg.Dims) {
		s.separable(m, out)
	} else {
		switch interp {
		case Linear:
			s.generalLinear(m, out)
		case BSpline:
			s.generalCubic(m, out)
		default:
			s.general(m, out)
		}
	}
	return out, nil
}

// mapping takes target voxel indices to continuous input indices:
// src = b + M*tgt.
type mapping struct {
	b [3]float64
	m [3][3]float64
}

func newMapping(src, tgt Geometry) mapping {
	var mp mapping
	mp.b = src.ContinuousIndex(tgt.Origin)
	for c := 0; c < 3; c++ {
		var e [3]float64
		e[c] = 1
		p := src.ContinuousIndex(tgt.World(e[0], e[1], e[2]))
		for r := 0; r < 3; r++ {
			mp.m[r][c] = p[r] - mp.b[r]
		}
	}
	return mp
}

// diagonal reports whether each input axis depends on one target axis only
// (same axes, possibly rescaled or shifted) to within 1e-6 voxel over the
// target grid, so interpolation separates into per-axis passes.
func (mp mapping) diagonal(dims [3]int) bool {
	for r := 0; r < 3; r++ {
		for c := 0; c < 3; c++ {
			if r != c && math.Abs(mp.m[r][c])*float64(dims[c]) > 1e-6 {
				return false
			}
		}
	}
	return true
}

type sampler struct {
	src     []float32
	dims    [3]int
	k       int // taps per axis: 1 nearest, 2 linear, 4 B-spline
	useFill bool
	fill    float32
	// lo, hi bound the target voxels that can read the input; with a fill
	// value, those outside get it without being sampled.
	lo, hi [3]int
}

// taps computes the k input indices and weights for continuous index x on an
// axis of n voxels; ok is false when x is outside and a fill value applies.
func (s *sampler) taps(x float64, n int, idx []int32, w []float32) bool {
	if s.useFill && (x < -0.5-1e-6 || x > float64(n)-0.5+1e-6) {
		return false
	}
	if x < 0 {
		x = 0
	}
	if x > float64(n-1) {
		x = float64(n - 1)
	}
	switch s.k {
	case 1:
		idx[0], w[0] = int32(math.Floor(x+0.5)), 1
		if int(idx[0]) > n-1 {
			idx[0] = int32(n - 1)
		}
	case 2:
		i0 := int(math.Floor(x))
		if i0 > n-2 {
			i0 = n - 2
		}
		if i0 < 0 { // n == 1
			idx[0], idx[1], w[0], w[1] = 0, 0, 1, 0
			return true
		}
		t := x - float64(i0)
		idx[0], idx[1] = int32(i0), int32(i0+1)
		w[0], w[1] = float32(1-t), float32(t)
	case 4:
		f := math.Floor(x)
		t := x - f
		i0 := int(f) - 1
		t2, t3 := t*t, t*t*t
		wt := [4]float64{
			(1 - t) * (1 - t) * (1 - t) / 6,
			(3*t3 - 6*t2 + 4) / 6,
			(-3*t3 + 3*t2 + 3*t + 1) / 6,
			t3 / 6,
		}
		for q := 0; q < 4; q++ {
			idx[q] = int32(mirror(i0+q, n))
			w[q] = float32(wt[q])
		}
	}
	return true
}

// mirror maps index i into [0, n) by whole-sample symmetric reflection
// (scipy mode='mirror': ... c b | a b c d | c b ...).
func mirror(i, n int) int {
	if n == 1 {
		return 0
	}
	p := 2 * (n - 1)
	i %= p
	if i < 0 {
		i += p
	}
	if i >= n {
		i = p - i
	}
	return i
}

// axisTaps holds k taps for each target index on one axis.
type axisTaps struct {
	idx []int32
	w   []float32
	ok  []bool
}

func (s *sampler) axisTable(scale, offset float64, count, n int) axisTaps {
	t := axisTaps{idx: make([]int32, count*s.k), w: make([]float32, count*s.k), ok: make([]bool, count)}
	for o := 0; o < count; o++ {
		t.ok[o] = s.taps(offset+scale*float64(o), n, t.idx[o*s.k:(o+1)*s.k], t.w[o*s.k:(o+1)*s.k])
	}
	return t
}

// separable resamples axis by axis for each target slice: the k input slices
// are blended into one plane (only the rows and columns the target uses),
// the plane's rows into one row, and the row's samples into target voxels.
// Scratch per worker is one partial plane and one row, never a volume.
func (s *sampler) separable(mp mapping, out *Volume) {
	nx, ny, nz := s.dims[0], s.dims[1], s.dims[2]
	mx, my, mz := out.Dims[0], out.Dims[1], out.Dims[2]
	k := s.k
	tx := s.axisTable(mp.m[0][0], mp.b[0], mx, nx)
	ty := s.axisTable(mp.m[1][1], mp.b[1], my, ny)
	tz := s.axisTable(mp.m[2][2], mp.b[2], mz, nz)
	// Columns and rows of the input that any target voxel reads.
	xlo, xhi := nx, 0
	for o := 0; o < mx; o++ {
		if tx.ok[o] {
			for q := 0; q < k; q++ {
				xlo, xhi = min(xlo, int(tx.idx[o*k+q])), max(xhi, int(tx.idx[o*k+q])+1)
			}
		}
	}
	rowPos := make([]int32, ny)
	for i := range rowPos {
		rowPos[i] = -1
	}
	var rows []int
	for o := 0; o < my; o++ {
		if ty.ok[o] {
			for q := 0; q < k; q++ {
				r := ty.idx[o*k+q]
				if rowPos[r] < 0 {
					rowPos[r] = int32(len(rows))
					rows = append(rows, int(r))
				}
			}
		}
	}
	if xlo >= xhi || len(rows) == 0 {
		for i := range out.Data {
			out.Data[i] = s.fill
		}
		return
	}
	span := xhi - xlo
	// Shift x taps to the span.
	for i := range tx.idx {
		tx.idx[i] -= int32(xlo)
	}
	type scratch struct{ plane, row []float32 }
	parallel.For(mz, func() *scratch {
		return &scratch{plane: make([]float32, len(rows)*span), row: make([]float32, span)}
	}, func(z int, sc *scratch) {
		dst := out.Data[z*mx*my : (z+1)*mx*my]
		if !tz.ok[z] {
			for i := range dst {
				dst[i] = s.fill
			}
			return
		}
		zi, zw := tz.idx[z*k:(z+1)*k], tz.w[z*k:(z+1)*k]
		for p, r := range rows {
			pl := sc.plane[p*span : (p+1)*span]
			blendRows(pl, s.src, zi, zw, nx*ny, r*nx+xlo)
		}
		for j := 0; j < my; j++ {
			drow := dst[j*mx : (j+1)*mx]
			if !ty.ok[j] {
				for i := range drow {
					drow[i] = s.fill
				}
				continue
			}
			yi, yw := ty.idx[j*k:(j+1)*k], ty.w[j*k:(j+1)*k]
			row := sc.row
			switch k {
			case 1:
				row = sc.plane[int(rowPos[yi[0]])*span : int(rowPos[yi[0]]+1)*span]
			case 2:
				a := sc.plane[int(rowPos[yi[0]])*span : int(rowPos[yi[0]]+1)*span]
				b := sc.plane[int(rowPos[yi[1]])*span : int(rowPos[yi[1]]+1)*span]
				w0, w1 := yw[0], yw[1]
				a, b = a[:len(row)], b[:len(row)]
				for i := range row {
					row[i] = w0*a[i] + w1*b[i]
				}
			default:
				for i := range row {
					row[i] = 0
				}
				for q := 0; q < k; q++ {
					a := sc.plane[int(rowPos[yi[q]])*span : int(rowPos[yi[q]]+1)*span]
					wq := yw[q]
					for i := range row {
						row[i] += wq * a[i]
					}
				}
			}
			switch k {
			case 1:
				for i := range drow {
					if tx.ok[i] {
						drow[i] = row[tx.idx[i]]
					} else {
						drow[i] = s.fill
					}
				}
			case 2:
				for i := range drow {
					if tx.ok[i] {
						drow[i] = tx.w[2*i]*row[tx.idx[2*i]] + tx.w[2*i+1]*row[tx.idx[2*i+1]]
					} else {
						drow[i] = s.fill
					}
				}
			default:
				for i := range drow {
					if !tx.ok[i] {
						drow[i] = s.fill
						continue
					}
					var acc float32
					for q := 0; q < k; q++ {
						acc += tx.w[k*i+q] * row[tx.idx[k*i+q]]
					}
					drow[i] = acc
				}
			}
		}
	})
}

// blendRows sets dst to sum_q w[q]*src[off + idx[q]*slice : +len(dst)].
func blendRows(dst, src []float32, idx []int32, w []float32, slice, off int) {
	n := len(dst)
	switch len(idx) {
	case 1:
		copy(dst, src[off+int(idx[0])*slice:][:n])
	case 2:
		a := src[off+int(idx[0])*slice:][:n]
		b := src[off+int(idx[1])*slice:][:n]
		w0, w1 := w[0], w[1]
		if w1 == 0 {
			copy(dst, a)
			return
		}
		for i := range dst {
			dst[i] = w0*a[i] + w1*b[i]
		}
	default:
		a := src[off+int(idx[0])*slice:][:n]
		w0 := w[0]
		for i := range dst {
			dst[i] = w0 * a[i]
		}
		for q := 1; q < len(idx); q++ {
			a := src[off+int(idx[q])*slice:][:n]
			wq := w[q]
			for i := range dst {
				dst[i] += wq * a[i]
			}
		}
	}
}

// general samples each target voxel on its own, for grids rotated against
// the input. Coordinates advance incrementally along each target row.
func (s *sampler) general(mp mapping, out *Volume) {
	nx, ny := s.dims[0], s.dims[1]
	mx, my, mz := out.Dims[0], out.Dims[1], out.Dims[2]
	k := s.k
	type scratch struct {
		idx [3][4]int32
		w   [3][4]float32
	}
	parallel.For(mz, func() *scratch { return &scratch{} }, func(z int, sc *scratch) {
		if s.skipSlice(out, z) {
			return
		}
		for j := 0; j < my; j++ {
			drow := out.Data[(z*my+j)*mx : (z*my+j+1)*mx]
			if s.skipRow(drow, j) {
				continue
			}
			for i := s.lo[0]; i < s.hi[0]; i++ {
				var p [3]float64
				for r := 0; r < 3; r++ {
					p[r] = mp.b[r] + mp.m[r][0]*float64(i) + mp.m[r][1]*float64(j) + mp.m[r][2]*float64(z)
				}
				if !s.taps(p[0], s.dims[0], sc.idx[0][:k], sc.w[0][:k]) ||
					!s.taps(p[1], s.dims[1], sc.idx[1][:k], sc.w[1][:k]) ||
					!s.taps(p[2], s.dims[2], sc.idx[2][:k], sc.w[2][:k]) {
					drow[i] = s.fill
					continue
				}
				var acc float32
				for c := 0; c < k; c++ {
					zoff := int(sc.idx[2][c]) * nx * ny
					for b := 0; b < k; b++ {
						off := zoff + int(sc.idx[1][b])*nx
						wzy := sc.w[2][c] * sc.w[1][b]
						for a := 0; a < k; a++ {
							acc += wzy * sc.w[0][a] * s.src[off+int(sc.idx[0][a])]
						}
					}
				}
				drow[i] = acc
			}
		}
	})
}

// bsplineCoefficients returns the cubic B-spline coefficients of v (one
// float32 copy of the volume), computed by the recursive filter of Unser
// (1993) along x, y and z with mirror boundary conditions, exactly as
// scipy.ndimage.spline_filter(order=3, mode='mirror').
func bsplineCoefficients(v *Volume) []float32 {
	c := make([]float32, len(v.Data))
	copy(c, v.Data)
	nx, ny, nz := v.Dims[0], v.Dims[1], v.Dims[2]
	// x: contiguous lines, one float64 line buffer per worker.
	if nx > 1 {
		parallel.For(nz, func() []float64 { return make([]float64, nx) }, func(k int, line []float64) {
			for j := 0; j < ny; j++ {
				row := c[(k*ny+j)*nx : (k*ny+j+1)*nx]
				for i, x := range row {
					line[i] = float64(x)
				}
				splineFilter1D(line)
				for i, x := range line {
					row[i] = float32(x)
				}
			}
		})
	}
	// y and z: filter whole rows at once (vectorised over x), which walks
	// memory in order instead of striding down columns.
	type colBuf struct{ acc []float64 }
	newBuf := func() *colBuf { return &colBuf{} }
	if ny > 1 {
		parallel.For(nz, newBuf, func(k int, b *colBuf) {
			filterStrided(c[k*nx*ny:(k+1)*nx*ny], nx, ny, nx, &b.acc)
		})
	}
	if nz > 1 {
		// Split the x*y plane into chunks of rows so the work parallelises.
		const chunk = 8
		nChunks := (ny + chunk - 1) / chunk
		parallel.For(nChunks, newBuf, func(q int, b *colBuf) {
			j0, j1 := q*chunk, min(ny, (q+1)*chunk)
			filterStridedBlock(c, nx*ny, nz, j0*nx, (j1-j0)*nx, &b.acc)
		})
	}
	return c
}

const splinePole = -0.2679491924311227 // sqrt(3) - 2

// splineFilter1D turns samples into cubic B-spline coefficients in place
// (mirror boundaries; scipy ni_splines.c _init_causal_mirror and
// _init_anticausal_mirror).
func splineFilter1D(c []float64) {
	n := len(c)
	if n < 2 {
		return
	}
	z := splinePole
	gain := (1 - z) * (1 - 1/z)
	for i := range c {
		c[i] *= gain
	}
	zn1 := math.Pow(z, float64(n-1))
	c0 := c[0] + zn1*c[n-1]
	zi := z
	for i := 1; i < n-1; i++ {
		c0 += zi * (c[i] + zn1*c[n-1-i])
		zi *= z
		if math.Abs(zi) < 1e-18 && math.Abs(zn1) < 1e-18 {
			break
		}
	}
	c[0] = c0 / (1 - zn1*zn1)
	for i := 1; i < n; i++ {
		c[i] += z * c[i-1]
	}
	c[n-1] = (z*c[n-2] + c[n-1]) * z / (z*z - 1)
	for i := n - 2; i >= 0; i-- {
		c[i] = z * (c[i+1] - c[i])
	}
}

// filterStrided runs splineFilter1D down the columns of a rows x width block
// (row r at data[r*stride:]), vectorised across the width.
func filterStrided(data []float32, width, rows, stride int, acc *[]float64) {
	filterStridedBlock(data, stride, rows, 0, width, acc)
}

// filterStridedBlock filters, for each of the width elements starting at
// offset off, the line data[off+e + r*stride], r = 0..n-1, with the same
// arithmetic as splineFilter1D but one whole row of lines at a time.
func filterStridedBlock(data []float32, stride, n, off, width int, acc *[]float64) {
	if cap(*acc) < width {
		*acc = make([]float64, width)
	}
	a := (*acc)[:width]
	z := splinePole
	gain := float32((1 - z) * (1 - 1/z))
	row := func(r int) []float32 { return data[off+r*stride : off+r*stride+width] }
	for r := 0; r < n; r++ {
		rw := row(r)
		for e := range rw {
			rw[e] *= gain
		}
	}
	zn1 := math.Pow(z, float64(n-1))
	last := row(n - 1)
	first := row(0)
	for e := range a {
		a[e] = float64(first[e]) + zn1*float64(last[e])
	}
	zi := z
	for r := 1; r < n-1; r++ {
		rw, mirrorRow := row(r), row(n-1-r)
		for e := range a {
			a[e] += zi * (float64(rw[e]) + zn1*float64(mirrorRow[e]))
		}
		zi *= z
		if math.Abs(zi) < 1e-18 && math.Abs(zn1) < 1e-18 {
			break
		}
	}
	for e := range a {
		first[e] = float32(a[e] / (1 - zn1*zn1))
	}
	fz := float32(z)
	for r := 1; r < n; r++ {
		rw, prev := row(r), row(r-1)
		for e := range rw {
			rw[e] += fz * prev[e]
		}
	}
	prev := row(n - 2)
	for e := range last {
		last[e] = float32((z*float64(prev[e]) + float64(last[e])) * z / (z*z - 1))
	}
	for r := n - 2; r >= 0; r-- {
		rw, nxt := row(r), row(r+1)
		for e := range rw {
			rw[e] = fz * (nxt[e] - rw[e])
		}
	}
}

// splineMargin is how many voxels beyond the sampled region the B-spline
// prefilter must see: the pole's influence after 24 voxels is 0.268^24 ≈ 2e-14.
const splineMargin = 24

// readBox returns the index box of src that sampling the target grid reads,
// grown by margin voxels and clipped to src. A target wholly beyond one side
// of src reads the voxels along that edge.
func readBox(src, tgt Geometry, margin int) (lo, hi [3]int) {
	mp := newMapping(src, tgt)
	minP := [3]float64{math.Inf(1), math.Inf(1), math.Inf(1)}
	maxP := [3]float64{math.Inf(-1), math.Inf(-1), math.Inf(-1)}
	for corner := 0; corner < 8; corner++ {
		var t [3]float64
		for c := 0; c < 3; c++ {
			if corner&(1<<c) != 0 {
				t[c] = float64(tgt.Dims[c] - 1)
			}
		}
		for r := 0; r < 3; r++ {
			p := mp.b[r] + mp.m[r][0]*t[0] + mp.m[r][1]*t[1] + mp.m[r][2]*t[2]
			minP[r], maxP[r] = math.Min(minP[r], p), math.Max(maxP[r], p)
		}
	}
	for a := 0; a < 3; a++ {
		l := int(math.Floor(minP[a])) - 2 - margin
		h := int(math.Ceil(maxP[a])) + 3 + margin
		lo[a], hi[a] = max(0, l), min(src.Dims[a], h)
		if lo[a] >= hi[a] {
			// the target lies wholly beyond one side: keep the edge voxels
			if h <= 0 {
				lo[a], hi[a] = 0, min(src.Dims[a], 1+margin)
			} else {
				lo[a], hi[a] = max(0, src.Dims[a]-1-margin), src.Dims[a]
			}
		}
	}
	return lo, hi
}

func boxLen(lo, hi [3]int) int { return (hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]) }

// outsideOrClamp reports a coordinate beyond the fill border, else clamps it
// to [0, n-1].
func (s *sampler) outsideOrClamp(x *float64, n int) bool {
	if s.useFill && (*x < -0.5-1e-6 || *x > float64(n)-0.5+1e-6) {
		return true
	}
	if *x < 0 {
		*x = 0
	} else if *x > float64(n-1) {
		*x = float64(n - 1)
	}
	return false
}

// generalLinear is general for trilinear interpolation with the taps
// written out: the hot path of resampling onto a rotated grid.
func (s *sampler) generalLinear(mp mapping, out *Volume) {
	nx, ny, nz := s.dims[0], s.dims[1], s.dims[2]
	mx, my, mz := out.Dims[0], out.Dims[1], out.Dims[2]
	// step to the next voxel on each axis (0 on a one-voxel axis)
	sx, sy, sz := min(1, nx-1), min(nx, nx*(ny-1)), min(nx*ny, nx*ny*(nz-1))
	d := s.src
	parallel.For(mz, func() struct{} { return struct{}{} }, func(z int, _ struct{}) {
		if s.skipSlice(out, z) {
			return
		}
		for j := 0; j < my; j++ {
			drow := out.Data[(z*my+j)*mx : (z*my+j+1)*mx]
			if s.skipRow(drow, j) {
				continue
			}
			bx := mp.b[0] + mp.m[0][1]*float64(j) + mp.m[0][2]*float64(z)
			by := mp.b[1] + mp.m[1][1]*float64(j) + mp.m[1][2]*float64(z)
			bz := mp.b[2] + mp.m[2][1]*float64(j) + mp.m[2][2]*float64(z)
			for i := s.lo[0]; i < s.hi[0]; i++ {
				x := bx + mp.m[0][0]*float64(i)
				y := by + mp.m[1][0]*float64(i)
				w := bz + mp.m[2][0]*float64(i)
				if s.outsideOrClamp(&x, nx) || s.outsideOrClamp(&y, ny) || s.outsideOrClamp(&w, nz) {
					drow[i] = s.fill
					continue
				}
				ix, iy, iz := min(int(x), max(nx-2, 0)), min(int(y), max(ny-2, 0)), min(int(w), max(nz-2, 0))
				fx, fy, fz := float32(x-float64(ix)), float32(y-float64(iy)), float32(w-float64(iz))
				o := ix + nx*(iy+ny*iz)
				c00 := d[o] + fx*(d[o+sx]-d[o])
				c10 := d[o+sy] + fx*(d[o+sy+sx]-d[o+sy])
				c01 := d[o+sz] + fx*(d[o+sz+sx]-d[o+sz])
				c11 := d[o+sz+sy] + fx*(d[o+sz+sy+sx]-d[o+sz+sy])
				c0 := c00 + fy*(c10-c00)
				c1 := c01 + fy*(c11-c01)
				drow[i] = c0 + fz*(c1-c0)
			}
		}
	})
}

// cubicWeights returns the cubic B-spline weights for fraction t.
func cubicWeights(t float64) [4]float32 {
	t2, t3 := t*t, t*t*t
	return [4]float32{
		float32((1 - t) * (1 - t) * (1 - t) / 6),
		float32((3*t3 - 6*t2 + 4) / 6),
		float32((-3*t3 + 3*t2 + 3*t + 1) / 6),
		float32(t3 / 6),
	}
}

// generalCubic is general for the cubic B-spline: 4x4x4 coefficients per
// voxel, read as contiguous runs of four away from the edges.
func (s *sampler) generalCubic(mp mapping, out *Volume) {
	nx, ny, nz := s.dims[0], s.dims[1], s.dims[2]
	mx, my, mz := out.Dims[0], out.Dims[1], out.Dims[2]
	c := s.src
	parallel.For(mz, func() struct{} { return struct{}{} }, func(z int, _ struct{}) {
		var ix, iy, iz [4]int
		if s.skipSlice(out, z) {
			return
		}
		for j := 0; j < my; j++ {
			drow := out.Data[(z*my+j)*mx : (z*my+j+1)*mx]
			if s.skipRow(drow, j) {
				continue
			}
			bx := mp.b[0] + mp.m[0][1]*float64(j) + mp.m[0][2]*float64(z)
			by := mp.b[1] + mp.m[1][1]*float64(j) + mp.m[1][2]*float64(z)
			bz := mp.b[2] + mp.m[2][1]*float64(j) + mp.m[2][2]*float64(z)
			for i := s.lo[0]; i < s.hi[0]; i++ {
				x := bx + mp.m[0][0]*float64(i)
				y := by + mp.m[1][0]*float64(i)
				w := bz + mp.m[2][0]*float64(i)
				if s.outsideOrClamp(&x, nx) || s.outsideOrClamp(&y, ny) || s.outsideOrClamp(&w, nz) {
					drow[i] = s.fill
					continue
				}
				fx, fy, fz := math.Floor(x), math.Floor(y), math.Floor(w)
				wx, wy, wz := cubicWeights(x-fx), cubicWeights(y-fy), cubicWeights(w-fz)
				x0, y0, z0 := int(fx)-1, int(fy)-1, int(fz)-1
				interiorX := x0 >= 0 && x0+3 < nx
				if !interiorX {
					for q := 0; q < 4; q++ {
						ix[q] = mirror(x0+q, nx)
					}
				}
				if y0 >= 0 && y0+3 < ny {
					iy = [4]int{y0 * nx, (y0 + 1) * nx, (y0 + 2) * nx, (y0 + 3) * nx}
				} else {
					for q := 0; q < 4; q++ {
						iy[q] = mirror(y0+q, ny) * nx
					}
				}
				if plane := nx * ny; z0 >= 0 && z0+3 < nz {
					iz = [4]int{z0 * plane, (z0 + 1) * plane, (z0 + 2) * plane, (z0 + 3) * plane}
				} else {
					for q := 0; q < 4; q++ {
						iz[q] = mirror(z0+q, nz) * plane
					}
				}
				var acc float32
				for cz := 0; cz < 4; cz++ {
					var accY float32
					for cy := 0; cy < 4; cy++ {
						o := iz[cz] + iy[cy]
						var r float32
						if interiorX {
							p := c[o+x0 : o+x0+4]
							r = wx[0]*p[0] + wx[1]*p[1] + wx[2]*p[2] + wx[3]*p[3]
						} else {
							r = wx[0]*c[o+ix[0]] + wx[1]*c[o+ix[1]] + wx[2]*c[o+ix[2]] + wx[3]*c[o+ix[3]]
						}
						accY += wy[cy] * r
					}
					acc += wz[cz] * accY
				}
				drow[i] = acc
			}
		}
	})
}

// targetBox returns the box of target voxels that may lie within half a
// voxel of the input (all of them when there is no fill value): the input's
// outer corners mapped into the target grid, rounded outwards.
func targetBox(src, tgt Geometry, useFill bool) (lo, hi [3]int) {
	if !useFill {
		return [3]int{}, tgt.Dims
	}
	minP := [3]float64{math.Inf(1), math.Inf(1), math.Inf(1)}
	maxP := [3]float64{math.Inf(-1), math.Inf(-1), math.Inf(-1)}
	for corner := 0; corner < 8; corner++ {
		var p [3]float64
		for c := 0; c < 3; c++ {
			p[c] = -0.5
			if corner&(1<<c) != 0 {
				p[c] = float64(src.Dims[c]) - 0.5
			}
		}
		t := tgt.ContinuousIndex(src.World(p[0], p[1], p[2]))
		for c := 0; c < 3; c++ {
			minP[c], maxP[c] = math.Min(minP[c], t[c]), math.Max(maxP[c], t[c])
		}
	}
	for c := 0; c < 3; c++ {
		l, h := math.Floor(minP[c])-1, math.Ceil(maxP[c])+2
		lo[c] = int(math.Max(0, math.Min(l, float64(tgt.Dims[c]))))
		hi[c] = int(math.Max(float64(lo[c]), math.Min(h, float64(tgt.Dims[c]))))
	}
	return lo, hi
}

// skipSlice fills target slice z when it lies outside the box.
func (s *sampler) skipSlice(out *Volume, z int) bool {
	if z >= s.lo[2] && z < s.hi[2] {
		return false
	}
	n := out.Dims[0] * out.Dims[1]
	dst := out.Data[z*n : (z+1)*n]
	for i := range dst {
		dst[i] = s.fill
	}
	return true
}

// skipRow fills a target row outside the box, or the parts of it outside
// the box, and reports whether the whole row was outside.
func (s *sampler) skipRow(drow []float32, j int) bool {
	if j < s.lo[1] || j >= s.hi[1] {
		for i := range drow {
			drow[i] = s.fill
		}
		return true
	}
	for i := 0; i < s.lo[0]; i++ {
		drow[i] = s.fill
	}
	for i := s.hi[0]; i < len(drow); i++ {
		drow[i] = s.fill
	}
	return false
}
