package measure

import (
	"fmt"
	"math"
	"slices"
)

// findEnd sets phiEnd, where the duct's centreline ends. Along the duct the
// cross-section's area (points per bin over the radius) shrinks slowly;
// past the end only the rounded tip and stray points remain. The end is
// after the last bin that still holds at least half the area of the
// preceding 30-90° and a tenth of the basal turn's (the apical duct keeps
// about a sixth of the basal cross-section; below a tenth lie the scraps
// of an apex that thick slices smeared along the axis, which a twentieth
// counted as up to half a turn more: seed-1616 cohort, model labels of
// normal ears, turns MAE 0.14 -> 0.09), moved back by the tip:
// a rounded end of half-width w keeps half its area 0.71·w beyond its last
// full section, at radius r an angle of 0.71·w/r. A dip that recovers (a
// coarse label pinching the duct) does not end it.
func (s *spiral) findEnd() {
	area := make([]float64, len(s.bins))
	for i, b := range s.bins {
		area[i] = b.area()
	}
	if len(area) < 24 {
		s.phiEnd = float64(len(area)) * binW
		return
	}
	floor := 0.1 * median(area[:18])
	thr := func(i int) float64 { return math.Max(floor, 0.5*median(area[max(0, i-18):max(1, i-5)])) }
	last := 0
	for i := len(area) - 1; i >= 18; i-- {
		if area[i] >= thr(i) {
			last = i
			break
		}
	}
	end := float64(last+1) * binW
	if last+1 < len(area) {
		t := thr(last + 1)
		f := (area[last] - t) / math.Max(1e-9, area[last]-area[last+1])
		end = (float64(last) + 0.5 + math.Max(0, math.Min(1, f))) * binW
	}
	secs := s.sections()
	if j := max(0, last-3); j < len(secs) && secs[j].r > 0 {
		end -= 0.71 * secs[j].wr / math.Max(secs[j].r, secs[j].wr)
	}
	s.phiEnd = math.Max(0, end)
}

func median(xs []float64) float64 {
	c := slices.Clone(xs)
	slices.Sort(c)
	if len(c) == 0 {
		return 0
	}
	return c[len(c)/2]
}

// lateralWall is the duct's outer wall (the farthest lumen point from the
// axis) per bin, smoothed (see smooth); NaN where no bin is near.
func (s *spiral) lateralWall() []float64 {
	return s.smooth(func(b bin) float64 { return b.rMax }, 25)
}

// smooth is a per-bin value of the bins smoothed by local linear
// regression with tricube weights over ±halfDeg. Lengths of a curve
// through raw bins would add every bin's noise as a wiggle: at 5° bins a
// wall that jitters by a quarter voxel lengthens the duct by 5%.
func (s *spiral) smooth(val func(bin) float64, halfDeg float64) []float64 {
	half := halfDeg * math.Pi / 180
	out := make([]float64, len(s.bins))
	for i := range s.bins {
		phi := (float64(i) + 0.5) * binW
		var xs [][]float64
		var ys, ws []float64
		for j, b := range s.bins {
			c := (float64(j) + 0.5) * binW
			d := math.Abs(c-phi) / half
			if b.n < 3 || d >= 1 {
				continue
			}
			w := 1 - d*d*d
			xs = append(xs, []float64{1, c - phi})
			ys = append(ys, val(b))
			ws = append(ws, w*w*w)
		}
		out[i] = math.NaN()
		if len(xs) >= 3 {
			if q, err := leastSquares(xs, ys, ws); err == nil {
				out[i] = q[0]
			}
		}
	}
	return out
}

// wallAt is the lateral wall's distance from the axis at φ by a local
// linear fit of the raw bins within ±halfDeg (one-sided at the start).
func (s *spiral) wallAt(phi, halfDeg float64) (float64, bool) {
	half := halfDeg * math.Pi / 180
	var xs [][]float64
	var ys, ws []float64
	for i, b := range s.bins {
		c := (float64(i) + 0.5) * binW
		if b.n == 0 || math.Abs(c-phi) > half {
			continue
		}
		xs = append(xs, []float64{1, c - phi})
		ys = append(ys, b.rMax)
		ws = append(ws, 1)
	}
	if len(xs) < 3 {
		return 0, false
	}
	p, err := leastSquares(xs, ys, ws)
	if err != nil {
		return 0, false
	}
	return p[0], true
}

// curveLength is the length of the curve at distance rad[i] from the
// axis at the centre of bin i, at the centreline's smoothed height, from
// φ = 0 to phiEnd (linear between bin centres, held at the ends).
func (s *spiral) curveLength(rad []float64) float64 {
	hs := s.smooth(func(b bin) float64 { return b.h() }, 45)
	at := func(v []float64, phi float64) float64 {
		x := phi/binW - 0.5
		i := int(math.Floor(x))
		if i < 0 {
			return v[0]
		}
		if i >= len(v)-1 {
			return v[len(v)-1]
		}
		f := x - float64(i)
		return v[i]*(1-f) + v[i+1]*f
	}
	point := func(phi float64) vec {
		r := at(rad, phi)
		return vec{r * math.Cos(phi), r * math.Sin(phi), at(hs, phi)}
	}
	var l float64
	step := binW / 4
	prev := point(0)
	for phi := step; phi <= s.phiEnd+1e-9; phi += step {
		p := point(phi)
		if d := p.sub(prev).norm(); !math.IsNaN(d) {
			l += d
		}
		prev = p
	}
	return l
}

// measureCochlea traces the cochlea of ear b and fills e's cochlear
// figures, or a warning per figure it cannot give.
func measureCochlea(e *Ear, b *earBox, o Options) {
	fields := []string{"a_value_mm", "b_value_mm", "height_mm", "turns", "cdl_lateral_wall_mm", "cdl_organ_of_corti_mm"}
	fail := func(why string) {
		for _, f := range fields {
			e.Warnings = append(e.Warnings, fmt.Sprintf("%s: not measured: %s", f, why))
		}
	}
	if e.VolumeMM3.Cochlea < 5 {
		fail(fmt.Sprintf("the cochlea is missing or too small to trace (%.1f mm³ labelled)", e.VolumeMM3.Cochlea))
		return
	}
	rw, ok := roundWindow(b)
	if !ok {
		fail("the cochlea does not meet the vestibule, so the start of the duct (the round window) is unknown")
		return
	}
	pts := cochleaSamples(b, o.SampleMM)
	sp, err := traceSpiral(pts, rw)
	if err != nil {
		fail(fmt.Sprintf("%v (a cystic or severely malformed cochlea)", err))
		return
	}
	if why := sp.notADuct(); why != "" {
		fail(why)
		return
	}
	e.trace = sp
	mid := sp.c.add(sp.d.scale((sp.hLo + sp.hHi) / 2))
	view := sp.c.add(sp.d.scale(sp.h0))
	e.Cochlea = &CochlearFrame{ModiolusMM: mid.round(1000), Axis: sp.d.round(10000), ViewOriginMM: view.round(1000),
		XAxis: sp.e0.round(10000), RisePerTurnMM: r3(sp.rise), SpiralFit: r3(sp.fit)}
	e.Height = ptr(sp.hHi - sp.hLo)
	a0, ok0 := sp.wallAt(0, 20)
	a1, ok1 := sp.wallAt(math.Pi, 15)
	if ok0 && ok1 {
		e.AValue = ptr(a0 + a1)
	} else {
		e.Warnings = append(e.Warnings, "a_value_mm: not measured: the basal turn is incomplete in the label map")
	}
	b0, okb0 := sp.wallAt(math.Pi/2, 15)
	b1, okb1 := sp.wallAt(3*math.Pi/2, 15)
	if okb0 && okb1 {
		e.BValue = ptr(b0 + b1)
	} else {
		e.Warnings = append(e.Warnings, "b_value_mm: not measured: the basal turn is incomplete in the label map")
	}
	if sp.phiEnd < math.Pi {
		e.Warnings = append(e.Warnings, "turns: not measured: the traced duct ends within half a turn",
			"cdl_lateral_wall_mm: not measured: the traced duct ends within half a turn",
			"cdl_organ_of_corti_mm: not measured: the traced duct ends within half a turn")
		return
	}
	if why := sp.uncountable(e.AValue); why != "" {
		e.Warnings = append(e.Warnings, "turns: not measured: "+why,
			"cdl_lateral_wall_mm: not measured: "+why,
			"cdl_organ_of_corti_mm: not measured: "+why)
		return
	}
	turns := sp.phiEnd / (2 * math.Pi)
	e.Turns = ptr(turns)
	cdlEstimates(e, sp, turns)
}

// Gates on a trace that passed traceSpiral, from the cross-section's area
// (points per 5° bin over the radius) along the duct. On the 54 ears of a
// 30-case phantom cohort (reference labels and the model's), normal and
// non-cochlear pathologies keep the basal turn's area at 1.3-2.0 times the
// area half a turn on and the duct beyond the first turn below 0.75 times
// the basal area; IP-I cysts are 4.8-10 times wider at the round window,
// an IP-II cystic apex 2.5 times wider than the basal turn, and a duct
// ossified from the round window leaves the first quarter turn empty.
const (
	maxBaseToHalfTurn = 3.0 // area at 0-90° over area at 144-216°
	maxApexToBase     = 1.0 // widest 30° past one turn over the basal area
	minPatentBase     = 0.5 // share of the first quarter turn's bins with lumen
	minCountableA     = 7.8 // mm: below the smallest normal A value (7.9, Escudé 2006) and 3 SD under 8.75 ± 0.31 (PMC6449142)
	// maxCountableTurns is 2.5 SD above the human mean (2.57 ± 0.28
	// turns, IE-Map 2021): a trace that claims more went on round a cyst
	// or counted merged apical turns twice.
	maxCountableTurns = 3.3
)

// area is the median cross-section area of the bins with centres in
// [lo, hi) (empty bins count as zero), and the share of them not empty.
func (s *spiral) area(lo, hi float64) (med, filled float64) {
	var a []float64
	n := 0
	for i, b := range s.bins {
		phi := (float64(i) + 0.5) * binW
		if phi < lo || phi >= hi {
			continue
		}
		a = append(a, b.area())
		if b.n > 0 {
			n++
		}
	}
	if len(a) == 0 {
		return 0, 0
	}
	return median(a), float64(n) / float64(len(a))
}

// notADuct says why a lumen that winds round an axis still is no duct to
// measure (nothing is measured then), or "" when it is one.
func (s *spiral) notADuct() string {
	base, filled := s.area(0, math.Pi/2)
	if filled < minPatentBase || base == 0 {
		return "the duct is not patent over its first quarter turn from the round window (obliterated, as in labyrinthitis ossificans?)"
	}
	if half, _ := s.area(0.8*math.Pi, 1.2*math.Pi); half > 0 && base/half > maxBaseToHalfTurn {
		return fmt.Sprintf("the lumen at the round window is %.1f times wider than the duct half a turn on: a cyst, not a duct (as in IP-I)", base/half)
	}
	return ""
}

// uncountable says why the duct's turns (and so its length) cannot be
// read from the label, or "" when they can: a cystic apex has no turns to
// count, and in a cochlea smaller than any normal one the turns merge in
// the label, so the trace would count more of them than there are.
func (s *spiral) uncountable(a *float64) string {
	base, _ := s.area(0, math.Pi/2)
	widest := 0.0
	for lo := 2 * math.Pi; lo+math.Pi/6 <= s.phiEnd; lo += binW {
		m, _ := s.area(lo, lo+math.Pi/6)
		widest = math.Max(widest, m)
	}
	if base > 0 && widest/base > maxApexToBase {
		return fmt.Sprintf("beyond the first turn the lumen widens to %.1f times the basal turn's cross-section: a cystic apex (as in IP-II), not a duct", widest/base)
	}
	if t := s.phiEnd / (2 * math.Pi); t > maxCountableTurns {
		return fmt.Sprintf("the trace claims %.1f turns, more than a human cochlea has (2.57 ± 0.28): a cyst or merged apical turns", t)
	}
	if a != nil && *a < minCountableA {
		return fmt.Sprintf("the cochlea is smaller than any normal one (A value %.1f mm; normal 7.9-10.8): its turns merge in the label and cannot be counted (hypoplasia?)", *a)
	}
	return ""
}

// ocPerLateralWall is the ratio of the duct's length at the organ of
// Corti to its length at the lateral wall (Dhanasingh 2019, from the
// published histological and CT series).
const ocPerLateralWall = 0.9

// cdlEstimates adds the traced and formula duct lengths. The traced
// lateral-wall length follows the smoothed outer wall of the labelled duct
// from the round window to the end of the duct. The organ of Corti is not
// visible on CT: its traced figure is the traced lateral wall times the
// published OC/LW ratio. The formulas need only the A value (and the angle
// for Escudé's), so they are what a reader with one measurement gets.
func cdlEstimates(e *Ear, sp *spiral, turns float64) {
	traceLW := sp.curveLength(sp.lateralWall())
	traceOC := ocPerLateralWall * traceLW
	e.CDLEstimates = append(e.CDLEstimates,
		CDLEstimate{Site: "lateral_wall", Source: "traced", Method: "traced: outer wall of the labelled duct, round window to apex", MM: r2(traceLW)},
		CDLEstimate{Site: "organ_of_corti", Source: "traced_oc_ratio", Method: "traced lateral wall x 0.90 (OC/LW ratio, Dhanasingh 2019)", MM: r2(traceOC)})
	if e.AValue != nil {
		a := *e.AValue
		e.CDLEstimates = append(e.CDLEstimates,
			CDLEstimate{Site: "lateral_wall", Source: "alexiades2015", Method: "formula: Alexiades et al. 2015, 4.16·A - 2.7", MM: r2(4.16*a - 2.7)},
			CDLEstimate{Site: "lateral_wall", Source: "escude2006", Method: fmt.Sprintf("formula: Escudé et al. 2006, 2.62·A·ln(1 + θ/235°), θ = %.0f°", turns*360), MM: r2(2.62 * a * math.Log(1+turns*360/235))},
			CDLEstimate{Site: "organ_of_corti", Source: "alexiades2015", Method: "formula: Alexiades et al. 2015, 4.16·A - 4", MM: r2(4.16*a - 4)})
	}
	e.CDLLateralWall, e.CDLOrganOfCorti = ptr(traceLW), ptr(traceOC)
	e.CDLMethod = "traced on the label map (lateral wall: outer wall, round window to apex; organ of Corti: that x 0.90); formula estimates in cdl_estimates"
}

// roundWindow is where the duct leaves the vestibule: the centroid of the
// cochlear voxels that touch a vestibular one.
func roundWindow(b *earBox) (vec, bool) {
	var sum vec
	n := 0
	for k := 0; k < b.dims[2]; k++ {
		for j := 0; j < b.dims[1]; j++ {
			for i := 0; i < b.dims[0]; i++ {
				if b.at(i, j, k) != Cochlea {
					continue
				}
				if b.at(i-1, j, k) == Vestibule || b.at(i+1, j, k) == Vestibule || b.at(i, j-1, k) == Vestibule ||
					b.at(i, j+1, k) == Vestibule || b.at(i, j, k-1) == Vestibule || b.at(i, j, k+1) == Vestibule {
					sum = sum.add(b.world(float64(i), float64(j), float64(k)))
					n++
				}
			}
		}
	}
	if n == 0 {
		return vec{}, false
	}
	return sum.scale(1 / float64(n)), true
}

// cochleaSamples resamples the cochlear label finer than the scan: at
// steps of at most stepMM along each voxel axis, a point is lumen where
// the trilinear interpolation of the cochlea's indicator reaches one half.
// The boundary then runs midway between lumen and non-lumen voxel centres
// on any grid, and a 1 mm slice does not make the duct a staircase.
func cochleaSamples(b *earBox, stepMM float64) []vec {
	var f [3]int
	for a := 0; a < 3; a++ {
		f[a] = max(1, int(math.Ceil(b.g.Spacing[a]/stepMM)))
	}
	ind := func(i, j, k int) float64 {
		if b.at(i, j, k) == Cochlea {
			return 1
		}
		return 0
	}
	var pts []vec
	for k := 0; k+1 < b.dims[2]; k++ {
		for j := 0; j+1 < b.dims[1]; j++ {
			for i := 0; i+1 < b.dims[0]; i++ {
				var c [8]float64
				any := false
				for q := 0; q < 8; q++ {
					c[q] = ind(i+q&1, j+q>>1&1, k+q>>2&1)
					any = any || c[q] > 0
				}
				if !any {
					continue
				}
				for sk := 0; sk < f[2]; sk++ {
					z := (float64(sk) + 0.5) / float64(f[2])
					for sj := 0; sj < f[1]; sj++ {
						y := (float64(sj) + 0.5) / float64(f[1])
						for si := 0; si < f[0]; si++ {
							x := (float64(si) + 0.5) / float64(f[0])
							v := (1-z)*((1-y)*((1-x)*c[0]+x*c[1])+y*((1-x)*c[2]+x*c[3])) +
								z*((1-y)*((1-x)*c[4]+x*c[5])+y*((1-x)*c[6]+x*c[7]))
							if v >= 0.5 {
								pts = append(pts, b.world(float64(i)+x, float64(j)+y, float64(k)+z))
							}
						}
					}
				}
			}
		}
	}
	return pts
}
