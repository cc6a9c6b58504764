package measure

import (
	"cmp"
	"errors"
	"math"
	"math/cmplx"
	"slices"
)

// spiral is the cochlear duct traced around the modiolar axis. Each lumen
// point has cylindrical coordinates about the axis (r from it, h along it,
// θ from the round-window direction x) and an unwrapped angle φ = θ + 2πn
// along the duct: n counts the turns below it. Bins of φ hold the duct's
// cross-sections, from which the lateral wall, the centreline and the end
// are read.
type spiral struct {
	c, d   vec // a point on the modiolar axis, and the axis (base to apex)
	e0, e1 vec // x towards the round window; y = the duct's winding direction
	rise   float64
	h0     float64 // height of the duct's centre at φ = 0
	fit    float64 // length of the mean phase vector of the helix fit
	bins   []bin   // bins[i] covers φ in [i·binW, (i+1)·binW)
	phiEnd float64 // the angle where the duct's centreline ends
	hLo    float64 // lowest and highest lumen point along the axis (φ ≥ 0)
	hHi    float64
}

// binW is the angular width of a cross-section bin (5°).
const binW = 2 * math.Pi / 72

// bin is one cross-section of the duct: sums for the centroid and the
// radial and axial extremes of its points.
type bin struct {
	n                      int
	rSum, hSum             float64
	rMin, rMax, hMin, hMax float64
}

func (b bin) r() float64 { return b.rSum / float64(b.n) }

// area is the cross-section's area in points per bin over the radius (a
// bin's points spread over an arc that widens with the radius); 0 when
// the bin is empty.
func (b bin) area() float64 {
	if b.n == 0 {
		return 0
	}
	return float64(b.n) / b.r()
}
func (b bin) h() float64 { return b.hSum / float64(b.n) }

// cyl is a lumen point in the spiral's frame.
type cyl struct{ r, h, th, phi float64 }

var errNoSpiral = errors.New("the cochlear lumen does not wind round an axis as one duct")

// minSpiralFit is the least helix fit (mean phase vector length of the
// runs' middles) of a cochlea that is traced: normal phantom cochleae
// score 0.48-0.9 on reference labels at 0.25-0.5 mm; IP-I cysts 0.30-0.42,
// which the modiolus gap below then rejects.
const minSpiralFit = 0.4

// minModiolusGap (mm), maxTurns and maxRise (mm per turn) complete the
// gate: a trace whose inner wall touches the axis in the basal turn went
// round a cyst, not a duct; no cochlea has more than 3.5 turns or climbs
// more than 2.5 mm per turn (3.3-4.5 mm over 2-3 turns). The otoseg
// model's labels of normal cochleae on 1 mm slices keep a gap of 0.23-0.3
// mm, reference labels 0.5-0.7; IP-I cysts 0.23-0.38, but they trace to
// more than 4 turns.
const (
	minModiolusGap = 0.2
	maxTurns       = 3.6
	maxRise        = 2.5
)

// traceSpiral finds the modiolar axis and traces the duct through the
// lumen points pts; rw is a point at the round window (where the duct
// leaves the vestibule). The axis starts as the lumen's direction of least
// spread and is then corrected, with the axis point, until the traced
// centreline neither wobbles in radius nor in height once per turn: an
// off-centre axis adds r·cos θ to the radius, a tilted one to the height.
func traceSpiral(pts []vec, rw vec) (*spiral, error) {
	if len(pts) < 200 {
		return nil, errNoSpiral
	}
	sub := subsample(pts, 20000)
	m, cov := moments(sub)
	_, ev := symEigen(cov)
	s := &spiral{c: m, d: ev[0]}
	if rw.sub(m).dot(s.d) > 0 {
		s.d = s.d.scale(-1) // the round window lies at the base
	}
	// The lumen's least spread is only near the axis (the basal turn and
	// the hook weigh on it): search the directions around it for the one
	// about which the lumen is most helical.
	search := subsample(sub, 6000)
	for _, st := range [][2]float64{{8, 3}, {3, 2}, {1, 1}} {
		s.d = s.bestDirection(search, rw, st[0]*math.Pi/180, int(st[1]))
	}
	for it := 0; it < 12; it++ {
		if _, err := s.fitFrame(sub, rw); err != nil {
			return nil, err
		}
		dc, dd, ok := s.wobble()
		if !ok {
			break
		}
		s.c = s.c.add(dc)
		s.d = s.d.sub(dd).unit()
		if dc.norm() < 0.003 && dd.norm() < 0.0005 {
			break
		}
	}
	cs, err := s.fitFrame(pts, rw)
	if err != nil {
		return nil, err
	}
	s.findEnd()
	if s.fit < minSpiralFit || s.modiolusGap() < minModiolusGap || s.phiEnd > maxTurns*2*math.Pi || s.rise > maxRise {
		return nil, errNoSpiral
	}
	s.hLo, s.hHi = math.Inf(1), math.Inf(-1)
	for _, p := range cs {
		if p.phi >= 0 {
			s.hLo, s.hHi = math.Min(s.hLo, p.h), math.Max(s.hHi, p.h)
		}
	}
	return s, nil
}

// bestDirection returns the axis direction, among s.d tilted by up to
// three steps each way in two directions, that gives the best helix fit.
func (s *spiral) bestDirection(pts []vec, rw vec, step float64, reach int) vec {
	u := s.d.cross(vec{1, 0, 0})
	if u.norm() < 0.1 {
		u = s.d.cross(vec{0, 1, 0})
	}
	u = u.unit()
	v := s.d.cross(u)
	best, bestFit := s.d, -1.0
	for i := -reach; i <= reach; i++ {
		for j := -reach; j <= reach; j++ {
			d := s.d.add(u.scale(math.Tan(float64(i) * step))).add(v.scale(math.Tan(float64(j) * step))).unit()
			t := &spiral{c: s.c, d: d}
			if _, err := t.fitFrameWith(pts, rw, false); err == nil && t.fit > bestFit {
				best, bestFit = d, t.fit
			}
		}
	}
	return best
}

// modiolusGap is the median distance of the lumen's inner wall from the
// axis over the second half of the basal turn (90-270°): a duct winds
// round a modiolus and keeps clear of the axis there, a cyst fills it.
func (s *spiral) modiolusGap() float64 {
	var gaps []float64
	for i, b := range s.bins {
		phi := (float64(i) + 0.5) * binW
		if b.n > 0 && phi >= math.Pi/2 && phi <= 1.5*math.Pi {
			gaps = append(gaps, b.rMin)
		}
	}
	if len(gaps) == 0 {
		return 0
	}
	slices.Sort(gaps)
	return gaps[len(gaps)/2]
}

// subsample keeps at most n points, evenly strided.
func subsample(pts []vec, n int) []vec {
	if len(pts) <= n {
		return pts
	}
	out := make([]vec, 0, n)
	step := float64(len(pts)) / float64(n)
	for i := 0; i < n; i++ {
		out = append(out, pts[int(float64(i)*step)])
	}
	return out
}

// fitFrame sets the frame from the axis and the round window, fits the
// helix (rise, handedness, h0), assigns every point its turn and bins the
// duct. It returns the points in cylindrical coordinates.
//
// The duct is taller than it rises per turn, so the heights of single
// points do not fall into turns. Along a line parallel to the axis,
// though, the lumen of each turn is one run whose middle is the duct's
// centre height there: the helix is fitted to those middles, and every
// point takes its run's turn.
func (s *spiral) fitFrame(pts []vec, rw vec) ([]cyl, error) {
	return s.fitFrameWith(pts, rw, true)
}

// fitFrameWith is fitFrame; with assign false it stops after the helix fit
// (enough to compare axis directions).
func (s *spiral) fitFrameWith(pts []vec, rw vec, assign bool) ([]cyl, error) {
	x := rw.sub(s.c).perp(s.d)
	if x.norm() < 1e-6 {
		return nil, errNoSpiral
	}
	s.e0 = x.unit()
	s.e1 = s.d.cross(s.e0)
	cs := make([]cyl, len(pts))
	xy := make([][2]float64, len(pts))
	for i, p := range pts {
		v := p.sub(s.c)
		h := v.dot(s.d)
		px, py := v.dot(s.e0), v.dot(s.e1)
		xy[i] = [2]float64{px, py}
		cs[i] = cyl{r: math.Hypot(px, py), h: h, th: math.Atan2(py, px)}
	}
	runs, runOf := columnRuns(xy, cs)
	sign := s.comb(runs)
	if !assign {
		return cs, nil
	}
	if sign < 0 {
		s.e1 = s.e1.scale(-1)
		for i := range cs {
			cs[i].th = -cs[i].th
		}
		for i := range runs {
			runs[i].th = -runs[i].th
		}
	}
	for i := range cs {
		if cs[i].th < 0 {
			cs[i].th += 2 * math.Pi
		}
	}
	s.assignByRun(cs, runs, runOf)
	s.binPoints(cs)
	for _, turns := range []float64{1.25, 2, 4} {
		m, ok := s.fitModel(turns)
		if !ok {
			break
		}
		s.assignByModel(cs, m)
		s.binPoints(cs)
	}
	return cs, nil
}

// ductModel is a smooth duct: centre radius, centre height and the
// radial and axial half-widths as functions of φ. Radius and widths decay
// exponentially towards the apex, r(φ) = a + b·exp(-φ/τ), as a spiral
// that tightens does; the height rises linearly.
type ductModel struct {
	tau               float64
	r, wr, wh         [2]float64 // a, b of each
	h0, risePerRadian float64
}

func (m ductModel) at(phi float64) section {
	e := math.Exp(-phi / m.tau)
	return section{
		r:  math.Max(0.2, m.r[0]+m.r[1]*e),
		h:  m.h0 + m.risePerRadian*phi,
		wr: math.Max(0.15, m.wr[0]+m.wr[1]*e),
		wh: math.Max(0.15, m.wh[0]+m.wh[1]*e),
	}
}

// fitModel fits the duct model to the bins of the first turns (where the
// turns are told apart reliably), τ by search and the rest by least
// squares.
func (s *spiral) fitModel(turns float64) (ductModel, bool) {
	var phis, rs, hs, wrs, whs, ws []float64
	for i, b := range s.bins {
		phi := (float64(i) + 0.5) * binW
		if b.n < 5 || phi > turns*2*math.Pi {
			continue
		}
		phis = append(phis, phi)
		rs = append(rs, b.r())
		hs = append(hs, b.h())
		wrs = append(wrs, (b.rMax-b.rMin)/2)
		whs = append(whs, (b.hMax-b.hMin)/2)
		ws = append(ws, float64(b.n))
	}
	if len(phis) < 20 {
		return ductModel{}, false
	}
	fitExp := func(tau float64, ys []float64) ([]float64, float64) {
		xs := make([][]float64, len(phis))
		for i, p := range phis {
			xs[i] = []float64{1, math.Exp(-p / tau)}
		}
		q, err := leastSquares(xs, ys, ws)
		if err != nil {
			return nil, math.Inf(1)
		}
		var sse float64
		for i, x := range xs {
			d := q[0]*x[0] + q[1]*x[1] - ys[i]
			sse += ws[i] * d * d
		}
		return q, sse
	}
	m := ductModel{}
	best := math.Inf(1)
	for tau := 1.0; tau <= 12; tau += 0.25 {
		if q, sse := fitExp(tau, rs); sse < best {
			best, m.tau, m.r = sse, tau, [2]float64{q[0], q[1]}
		}
	}
	if math.IsInf(best, 1) {
		return ductModel{}, false
	}
	q, _ := fitExp(m.tau, wrs)
	m.wr = [2]float64{q[0], q[1]}
	q, _ = fitExp(m.tau, whs)
	m.wh = [2]float64{q[0], q[1]}
	xs := make([][]float64, len(phis))
	for i, p := range phis {
		xs[i] = []float64{1, p}
	}
	lin, err := leastSquares(xs, hs, ws)
	if err != nil {
		return ductModel{}, false
	}
	m.h0, m.risePerRadian = lin[0], lin[1]
	return m, true
}

// assignByModel moves each point to the turn whose modelled cross-section
// it lies nearest to, distances scaled by the section's half-widths:
// turns are separated in radius and height together, and where a coarse
// label merges two turns the model still tells them apart.
func (s *spiral) assignByModel(cs []cyl, m ductModel) {
	for i := range cs {
		p := &cs[i]
		best := math.Inf(1)
		for n := -1; n <= 5; n++ {
			phi := p.th + 2*math.Pi*float64(n)
			sc := m.at(math.Max(0, phi))
			if phi < 0 {
				sc.h += m.risePerRadian * phi
			}
			dr, dh := (p.r-sc.r)/sc.wr, (p.h-sc.h)/sc.wh
			if d := dr*dr + dh*dh; d < best {
				best, p.phi = d, phi
			}
		}
	}
}

// run is a stretch of lumen along a line parallel to the axis: its middle
// height, its angle and how many points it holds.
type run struct {
	h, th float64
	n     int
}

// columnRuns cuts the points into columns of 0.2 mm square parallel to the
// axis and each column into runs where the lumen is interrupted by more
// than 0.3 mm. It returns the runs and each point's run.
func columnRuns(xy [][2]float64, cs []cyl) ([]run, []int) {
	const cell, gap = 0.2, 0.3
	cols := map[[2]int][]int{}
	for i, p := range xy {
		k := [2]int{int(math.Floor(p[0] / cell)), int(math.Floor(p[1] / cell))}
		cols[k] = append(cols[k], i)
	}
	keys := make([][2]int, 0, len(cols))
	for k := range cols {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]int) int {
		if a[0] != b[0] {
			return a[0] - b[0]
		}
		return a[1] - b[1]
	})
	var runs []run
	runOf := make([]int, len(cs))
	for _, k := range keys {
		idx := cols[k]
		slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(cs[a].h, cs[b].h) })
		th := math.Atan2((float64(k[1])+0.5)*cell, (float64(k[0])+0.5)*cell)
		start := 0
		for j := 1; j <= len(idx); j++ {
			if j < len(idx) && cs[idx[j]].h-cs[idx[j-1]].h <= gap {
				continue
			}
			lo, hi := cs[idx[start]].h, cs[idx[j-1]].h
			for _, q := range idx[start:j] {
				runOf[q] = len(runs)
			}
			runs = append(runs, run{h: (lo + hi) / 2, th: th, n: j - start})
			start = j
		}
	}
	return runs, runOf
}

// comb fits the helix h = h0 + rise·(θ/2π + n) to the runs' middles: for
// the right rise and winding direction the phase 2π·h/rise - θ is the same
// for every run, whatever its turn n. It returns the winding direction
// (+1: θ grows along e1 = d × e0) and sets rise, h0 and fit (the weighted
// length of the mean phase vector).
func (s *spiral) comb(runs []run) float64 {
	// The sum over runs factors into heights and angles: histogram the
	// runs' weight·exp(∓iθ) by height (0.02 mm bins, 3° of phase at the
	// least rise), then each rise costs one pass over the bins.
	const dh = 0.02
	lo, hi := math.Inf(1), math.Inf(-1)
	var total float64
	for _, r := range runs {
		lo, hi = math.Min(lo, r.h), math.Max(hi, r.h)
		total += float64(r.n)
	}
	nb := int((hi-lo)/dh) + 1
	hist := [2][]complex128{make([]complex128, nb), make([]complex128, nb)}
	for _, r := range runs {
		b := int((r.h - lo) / dh)
		hist[0][b] += cmplx.Rect(float64(r.n), -r.th)
		hist[1][b] += cmplx.Rect(float64(r.n), r.th)
	}
	score := func(rise, sign float64) complex128 {
		hs := hist[0]
		if sign < 0 {
			hs = hist[1]
		}
		var z complex128
		for b, w := range hs {
			if w != 0 {
				z += w * cmplx.Rect(1, 2*math.Pi*(lo+(float64(b)+0.5)*dh)/rise)
			}
		}
		return z / complex(total, 0)
	}
	best, bestSign, bestRise := -1.0, 1.0, 0.0
	for _, sign := range []float64{1, -1} {
		for rise := 0.6; rise <= 2.4; rise += 0.02 {
			if a := cmplx.Abs(score(rise, sign)); a > best {
				best, bestSign, bestRise = a, sign, rise
			}
		}
	}
	// refine within fixed bounds (bestRise moves inside the loop)
	lo2, hi2 := bestRise-0.02, bestRise+0.02
	for rise := lo2; rise <= hi2; rise += 0.002 {
		if a := cmplx.Abs(score(rise, bestSign)); a > best {
			best, bestRise = a, rise
		}
	}
	z := score(bestRise, bestSign)
	s.rise, s.fit = bestRise, best
	s.h0 = bestRise * cmplx.Phase(z) / (2 * math.Pi)
	return bestSign
}

// assignByRun gives each point the turn whose helix height is nearest its
// run's middle, then renumbers the turns so the fullest (the basal turn)
// is turn 0.
func (s *spiral) assignByRun(cs []cyl, runs []run, runOf []int) {
	count := map[int]int{}
	ns := make([]int, len(cs))
	for i, p := range cs {
		ns[i] = int(math.Round((runs[runOf[i]].h-s.h0)/s.rise - p.th/(2*math.Pi)))
		count[ns[i]]++
	}
	base, most := 0, -1
	for n, c := range count {
		if c > most || (c == most && n < base) {
			base, most = n, c
		}
	}
	s.h0 += float64(base) * s.rise
	for i := range cs {
		cs[i].phi = cs[i].th + 2*math.Pi*float64(ns[i]-base)
	}
}

// binPoints bins the points of φ ≥ 0 by φ. Points within 0.2 mm of the
// axis are left out: their θ is not defined well enough to bin.
func (s *spiral) binPoints(cs []cyl) {
	maxPhi := 0.0
	for _, p := range cs {
		maxPhi = math.Max(maxPhi, p.phi)
	}
	nb := int(maxPhi/binW) + 1
	if nb > 72*8 {
		nb = 72 * 8
	}
	s.bins = make([]bin, nb)
	for i := range s.bins {
		s.bins[i] = bin{rMin: math.Inf(1), rMax: math.Inf(-1), hMin: math.Inf(1), hMax: math.Inf(-1)}
	}
	for _, p := range cs {
		if p.phi < 0 || p.r < 0.2 {
			continue
		}
		i := int(p.phi / binW)
		if i >= nb {
			continue
		}
		b := &s.bins[i]
		b.n++
		b.rSum += p.r
		b.hSum += p.h
		b.rMin, b.rMax = math.Min(b.rMin, p.r), math.Max(b.rMax, p.r)
		b.hMin, b.hMax = math.Min(b.hMin, p.h), math.Max(b.hMax, p.h)
	}
}

// section is the duct's smoothed cross-section at an angle: centre (r, h)
// and radial and axial half-widths.
type section struct{ r, h, wr, wh float64 }

// sections smooths the bins over ±2 bins (weighted by count). Empty bins
// take their neighbours' values; before φ = 0 and after the last bin the
// duct is continued with the helix's rise.
func (s *spiral) sections() []section {
	out := make([]section, len(s.bins))
	for i := range s.bins {
		var w, r, h, wr, wh float64
		for j := max(0, i-2); j <= min(len(s.bins)-1, i+2); j++ {
			b := s.bins[j]
			if b.n == 0 {
				continue
			}
			f := float64(b.n)
			w += f
			r += f * b.r()
			h += f * (b.h() - s.rise*float64(j-i)*binW/(2*math.Pi))
			wr += f * math.Max(0.15, (b.rMax-b.rMin)/2)
			wh += f * math.Max(0.15, (b.hMax-b.hMin)/2)
		}
		if w == 0 {
			out[i] = section{r: math.NaN()}
			continue
		}
		out[i] = section{r / w, h / w, wr / w, wh / w}
	}
	// fill gaps from the nearest filled section
	last := -1
	for i := range out {
		if !math.IsNaN(out[i].r) {
			last = i
			continue
		}
		if last >= 0 {
			out[i] = out[last]
			out[i].h += s.rise * float64(i-last) * binW / (2 * math.Pi)
		}
	}
	for i := len(out) - 1; i >= 0; i-- {
		if math.IsNaN(out[i].r) && i+1 < len(out) && !math.IsNaN(out[i+1].r) {
			out[i] = out[i+1]
			out[i].h -= s.rise * binW / (2 * math.Pi)
		}
	}
	return out
}

// wobble fits the traced centreline's once-per-turn oscillations over its
// first 1.5 turns: r(φ) = smooth + a·cos φ + b·sin φ says the axis point
// is off by (a, b); h(φ) = smooth + r(φ)·(α cos φ + β sin φ) says the
// axis is tilted by (-α, -β). It returns the corrections.
func (s *spiral) wobble() (dc, dd vec, ok bool) {
	var xr, xh [][]float64
	var yr, yh, w []float64
	for i, b := range s.bins {
		phi := (float64(i) + 0.5) * binW
		if b.n < 3 || phi > 3*math.Pi {
			continue
		}
		c, sn := math.Cos(phi), math.Sin(phi)
		xr = append(xr, []float64{1, phi, phi * phi, phi * phi * phi, c, sn})
		yr = append(yr, b.r())
		xh = append(xh, []float64{1, phi, phi * phi, b.r() * c, b.r() * sn})
		yh = append(yh, b.h())
		w = append(w, float64(b.n))
	}
	if len(w) < 30 {
		return dc, dd, false
	}
	pr, err := leastSquares(xr, yr, w)
	if err != nil {
		return dc, dd, false
	}
	ph, err := leastSquares(xh, yh, w)
	if err != nil {
		return dc, dd, false
	}
	dc = s.e0.scale(pr[4]).add(s.e1.scale(pr[5]))
	dd = s.e0.scale(ph[3]).add(s.e1.scale(ph[4]))
	// damp large steps: the linearisation holds for small errors
	if n := dc.norm(); n > 0.5 {
		dc = dc.scale(0.5 / n)
	}
	if n := dd.norm(); n > 0.15 {
		dd = dd.scale(0.15 / n)
	}
	return dc, dd, true
}
