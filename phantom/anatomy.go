package phantom

import (
	"math"
	"math/rand/v2"
)

// Labels written in label maps. The labyrinth is every label > 0.
const (
	LabelCochlea   = 1
	LabelVestibule = 2
	LabelCanals    = 3
)

// Canal indices in Ear.CanalRadius and Ear.CanalPresent.
const (
	Anterior = iota
	Posterior
	Lateral
)

// earShape is the geometry of one bony labyrinth in its local frame: x
// lateral, y posterior, z superior (mm), origin at the vestibule centre.
// The right ear is the left ear mirrored through x by its frame.
type earShape struct {
	// cochlea
	aValue   float64 // mm, target A value
	turns    float64
	rise     float64 // mm rise of the duct centre per turn along the modiolar axis
	raBase   float64 // radial semi-axis of the duct lumen at the base
	rzBase   float64 // axial semi-axis at the base
	raApex   float64
	rzApex   float64
	rApex    float64 // distance of the duct centre from the axis at the apex
	base     vec3    // modiolus base (local)
	axis     vec3    // modiolar axis, base to apex (local, unit)
	cystic   float64 // >0: IP-I, the cochlea is a cyst of this radius without modiolus
	cysticAp float64 // >0: IP-II, turns beyond 1.5 fuse into an apical cyst of this radius
	// vestibule
	vest vec3 // semi-axes x, y, z
	// semicircular canals
	canalR       [3]float64
	canalLumen   float64
	ampulla      float64
	present      [3]bool
	lscDysplasia bool // lateral canal replaced by a wide stub fused with the vestibule
	// aqueduct
	vaRadius float64 // vestibular aqueduct lumen radius at its midpoint

	// memo of spiral(), valid while memoKey matches the parameters
	memoKey [5]float64
	memoC   float64
	memoK   float64
}

// sampleEar draws a normal adult ear with the spreads of the reference
// figures (A 8.75 ± 0.31 mm, 2.57 ± 0.28 turns, canal radii ~3.2/3.2/2.5).
func sampleEar(r *rand.Rand) earShape {
	g := func(m, s, lo, hi float64) float64 {
		return math.Max(lo, math.Min(hi, m+s*r.NormFloat64()))
	}
	e := earShape{
		aValue:     g(8.75, 0.31, 8.1, 9.4),
		turns:      g(2.57, 0.2, 2.25, 2.85),
		raBase:     g(1.35, 0.05, 1.25, 1.45),
		rzBase:     g(0.72, 0.03, 0.66, 0.78),
		raApex:     g(0.5, 0.03, 0.45, 0.55),
		rzApex:     g(0.4, 0.02, 0.36, 0.44),
		rApex:      g(0.6, 0.04, 0.52, 0.68),
		base:       vec3{-2.6, -5.4, -1.9},
		axis:       vec3{0.55, -0.72, -0.3}.unit(),
		vest:       vec3{g(1.3, 0.08, 1.15, 1.45), g(2.95, 0.12, 2.7, 3.2), g(2.7, 0.1, 2.5, 2.9)},
		canalR:     [3]float64{g(3.2, 0.15, 2.9, 3.5), g(3.2, 0.15, 2.9, 3.5), 0},
		canalLumen: g(0.5, 0.025, 0.45, 0.55),
		ampulla:    g(0.9, 0.04, 0.82, 0.98),
		present:    [3]bool{true, true, true},
		vaRadius:   g(0.35, 0.04, 0.28, 0.42),
	}
	// the lateral canal's radius of curvature is ~20% below the others'
	e.canalR[Lateral] = 0.78 * (e.canalR[Anterior] + e.canalR[Posterior]) / 2 * (1 + 0.03*r.NormFloat64())
	e.rise = (3.3 - e.rzBase - e.rzApex) / e.turns
	e.rise = math.Max(e.rise, 1.04)
	return e
}

// Basal bulge of the spiral: the basal turn is wider than a logarithmic
// spiral through the apex would make it (keeps the width/A ratio and the
// duct length near the published 6.53/8.75 mm and 32-38 mm).
const (
	bulge    = 2.0 // mm
	bulgeTau = 1.5 // radians
)

// spiral returns c and k of the duct centre radius
// r(θ) = c·exp(-kθ) + bulge·exp(-θ/bulgeTau), chosen so that the A value
// (lateral wall at θ=0 to lateral wall at θ=π, across the modiolus) and
// the apical radius come out as asked.
func (e *earShape) spiral() (c, k float64) {
	key := [5]float64{e.aValue, e.turns, e.rApex, e.raBase, e.raApex}
	if key == e.memoKey {
		return e.memoC, e.memoK
	}
	defer func() { e.memoKey, e.memoC, e.memoK = key, c, k }()
	tmax := 2 * math.Pi * e.turns
	want := e.aValue - e.ra(0) - e.ra(math.Pi)
	lo, hi := 0.0, 1.0
	for it := 0; it < 60; it++ {
		k = (lo + hi) / 2
		c = e.rApex * math.Exp(k*tmax)
		a := c*(1+math.Exp(-k*math.Pi)) + bulge*(1+math.Exp(-math.Pi/bulgeTau))
		if a > want {
			hi = k
		} else {
			lo = k
		}
	}
	return e.rApex * math.Exp(k*tmax), k
}

// rad is the distance of the duct centre from the modiolar axis at θ.
func (e *earShape) rad(th float64) float64 {
	c, k := e.spiral()
	return c*math.Exp(-k*th) + bulge*math.Exp(-th/bulgeTau)
}

// aValueOf measures the A value of the built spiral.
func (e *earShape) aValueOf() float64 {
	return e.rad(0) + e.ra(0) + e.rad(math.Pi) + e.ra(math.Pi)
}

func (e *earShape) frac(th float64) float64 {
	return math.Max(0, math.Min(1, th/(2*math.Pi*e.turns)))
}

// taperTurns is the e-folding length, in turns, of the duct's calibre: the
// basal turn is wide and the middle turn already much narrower, which keeps
// a bony septum between successive turns.
const taperTurns = 0.8

func (e *earShape) taper(th float64) float64 { return math.Exp(-th / (2 * math.Pi * taperTurns)) }
func (e *earShape) ra(th float64) float64    { return e.raApex + (e.raBase-e.raApex)*e.taper(th) }
func (e *earShape) rz(th float64) float64    { return e.rzApex + (e.rzBase-e.rzApex)*e.taper(th) }

// cochleaFrame gives the unit vectors of the spiral: e0 points from the
// axis towards the vestibule (where the basal turn starts), e1 = axis × e0.
func (e *earShape) cochleaFrame() (e0, e1 vec3) {
	toV := vec3{0, -1.5, -1.2}.sub(e.base)
	e0 = toV.sub(e.axis.scale(toV.dot(e.axis))).unit()
	e1 = e.axis.cross(e0)
	return
}

// duct returns the centre point of the cochlear duct at angle th (local).
func (e *earShape) duct(th float64) vec3 {
	e0, e1 := e.cochleaFrame()
	r := e.rad(th)
	h := e.rzBase + e.rise*th/(2*math.Pi)
	return e.base.add(e.axis.scale(h)).add(e0.scale(r * math.Cos(th))).add(e1.scale(r * math.Sin(th)))
}

// ductNodes samples the duct from the base to the apex (or to the start of
// an apical cyst).
func (e *earShape) ductNodes(tEnd float64) []tubeNode {
	n := int(math.Ceil(tEnd/0.22)) + 1
	out := make([]tubeNode, 0, n+1)
	for i := 0; i <= n; i++ {
		th := tEnd * float64(i) / float64(n)
		out = append(out, tubeNode{p: e.duct(th), ra: e.ra(th), rz: e.rz(th), up: e.axis})
	}
	return out
}

// lateralWallLength is the length of the duct's outer wall, the cochlear
// duct length (CDL) as measured on CT.
func (e *earShape) lateralWallLength() float64 {
	tmax := 2 * math.Pi * e.turns
	var l float64
	const n = 2000
	e0, e1 := e.cochleaFrame()
	prev := vec3{}
	for i := 0; i <= n; i++ {
		th := tmax * float64(i) / n
		r := e.rad(th) + e.ra(th)
		p := e0.scale(r * math.Cos(th)).add(e1.scale(r * math.Sin(th))).add(e.axis.scale(e.rise * th / (2 * math.Pi)))
		if i > 0 {
			l += p.sub(prev).norm()
		}
		prev = p
	}
	return l
}

// height is the extent of the cochlear lumen along the modiolar axis.
func (e *earShape) height() float64 {
	return e.rise*e.turns + e.rzApex + e.rzBase
}

// canalGeom is a semicircular canal as a circular arc from one vestibular
// attachment (ampullated end, e1) round to the other (e2).
type canalGeom struct {
	c, u, v vec3 // centre and in-plane unit vectors
	r       float64
	a0, a1  float64
	e1, e2  vec3
}

// circleThrough builds the arc of radius r through e1 and e2 in the plane
// that contains both and is as close as possible to normal n, bulging
// towards d (the far side of the chord).
func circleThrough(e1, e2, n, d vec3, r float64) canalGeom {
	ch := e2.sub(e1)
	c := ch.norm()
	chu := ch.unit()
	n = n.sub(chu.scale(n.dot(chu))).unit()
	w := n.cross(chu) // in-plane, perpendicular to chord
	if w.dot(d) < 0 {
		w = w.scale(-1)
	}
	// a radius too small for the chord would leave the arc short of an
	// attachment; the sampled radii stay clear of this
	r = math.Max(r, 0.55*c)
	hc := math.Sqrt(r*r - c*c/4)
	mid := e1.lerp(e2, 0.5)
	centre := mid.add(w.scale(hc))
	// the arc goes the long way: away from the chord, through centre + r·w
	u := e1.sub(centre).unit()
	v := n.cross(u)
	a1 := math.Atan2(e2.sub(centre).dot(v), e2.sub(centre).dot(u))
	// make the arc pass through the far point centre + r·w
	far := math.Atan2(w.dot(v), w.dot(u))
	if a1 < 0 {
		a1 += 2 * math.Pi
	}
	if far < 0 {
		far += 2 * math.Pi
	}
	if far > a1 {
		a1 -= 2 * math.Pi
	}
	return canalGeom{c: centre, u: u, v: v, r: r, a0: 0, a1: a1, e1: e1, e2: e2}
}

func (g canalGeom) at(t float64) vec3 {
	a := g.a0 + (g.a1-g.a0)*t
	return g.c.add(g.u.scale(g.r * math.Cos(a))).add(g.v.scale(g.r * math.Sin(a)))
}

// Canal attachment points and plane normals (local frame, left ear).
var (
	lscAmp   = vec3{1.0, -2.0, 0.4}
	lscEnd   = vec3{0.5, 2.1, 1.0}
	ascAmp   = vec3{-0.3, -0.6, 2.5}
	crusTop  = vec3{-0.9, 1.8, 4.0}
	crusBase = vec3{-0.5, 1.0, 1.2}
	pscAmp   = vec3{0.1, 2.2, -1.2}
)

// canals returns the geometry of the three canals in the local frame.
func (e *earShape) canals() [3]canalGeom {
	var g [3]canalGeom
	g[Anterior] = circleThrough(ascAmp, crusTop, vec3{-0.72, -0.69, 0}, vec3{0.25, -0.3, 1}, e.canalR[Anterior])
	g[Posterior] = circleThrough(pscAmp, crusTop, vec3{0.7, -0.72, 0}, vec3{0.5, 0.6, -0.1}, e.canalR[Posterior])
	g[Lateral] = circleThrough(lscAmp, lscEnd, vec3{0, 0.25, 1}, vec3{1, 0.65, 0}, e.canalR[Lateral])
	return g
}

// earFrame places an ear's local frame in anatomical space:
// anat = c + f·local. f includes the mirror for the right ear.
type earFrame struct {
	c vec3
	f mat3
}

func (e earFrame) p(v vec3) vec3 { return e.c.add(e.f.apply(v)) }
func (e earFrame) d(v vec3) vec3 { return e.f.apply(v) }
func (e earFrame) r(m mat3) mat3 { return e.f.mul(m) }

func (e earFrame) nodes(ns []tubeNode) []tubeNode {
	out := make([]tubeNode, len(ns))
	for i, n := range ns {
		out[i] = tubeNode{p: e.p(n.p), ra: n.ra, rz: n.rz, up: e.d(n.up)}
	}
	return out
}

func round(ps []vec3, rs []float64) []tubeNode {
	out := make([]tubeNode, len(ps))
	for i := range ps {
		out[i] = tubeNode{p: ps[i], ra: rs[i], rz: rs[i]}
	}
	return out
}

func (ef earFrame) tube(sc *scene, t Tissue, label uint8, ps []vec3, rs []float64) {
	sc.addTube(ef.nodes(round(ps, rs)), t, label)
}

func (ef earFrame) ell(c, a vec3, rot mat3) ellipsoid {
	return ellipsoid{c: ef.p(c), a: a, rot: ef.r(rot)}
}

// labyrinthLumen lists the lumen pieces of the labyrinth as (shape, label),
// in local coordinates scaled by grow mm outward: grow=0 is the lumen itself,
// grow>0 the otic capsule around it.
func (e *earShape) lumen(ef earFrame, grow float64) []object {
	var out []object
	add := func(s shape, l uint8) { out = append(out, object{s: s, label: l, bb: s.bounds()}) }
	// vestibule
	add(ef.ell(vec3{}, e.vest.add(vec3{grow, grow, grow}), rotXYZ(0, 0, 12)), LabelVestibule)
	// spherical (saccular) recess, anteroinferior
	sr := e.vest.mul(vec3{1, 0.62, 0.6})
	add(ef.ell(vec3{-0.05, -1.1, -1.0}.mul(e.vest.div(vec3{1.3, 2.95, 2.7})), sr.add(vec3{grow, grow, grow}), rotXYZ(0, 0, 12)), LabelVestibule)
	if e.lscDysplasia {
		// the lateral canal is a short wide pouch fused with the vestibule
		add(ef.ell(vec3{1.6, 0.6, 1.1}, vec3{1.9 + grow, 2.3 + grow, 1.3 + grow}, rotXYZ(0, 0, 25)), LabelVestibule)
	}
	// canals
	cg := e.canals()
	for c := 0; c < 3; c++ {
		if !e.present[c] || (c == Lateral && e.lscDysplasia) {
			continue
		}
		ns := arcNodes(cg[c].c, cg[c].u, cg[c].v, cg[c].r, cg[c].a0, cg[c].a1, e.canalLumen+grow, 28)
		// run each end into the vestibule
		in1 := tubeNode{p: cg[c].e1.scale(0.6), ra: e.canalLumen + grow, rz: e.canalLumen + grow}
		ns = append([]tubeNode{in1}, ns...)
		if c != Lateral {
			ns = append(ns, tubeNode{p: crusTop, ra: e.canalLumen + grow, rz: e.canalLumen + grow})
		} else {
			ns = append(ns, tubeNode{p: cg[c].e2.scale(0.6), ra: e.canalLumen + grow, rz: e.canalLumen + grow})
		}
		for _, tb := range splitTube(ef.nodes(ns), 6) {
			add(tb, LabelCanals)
		}
		// ampulla: a swelling just after the ampullated attachment
		ap := cg[c].at(0.07)
		tan := cg[c].at(0.09).sub(cg[c].at(0.05)).unit()
		a := e.ampulla + grow
		add(ellipsoid{c: ef.p(ap), a: vec3{a, a, a * 1.35}, rot: ef.r(frameFromAxis(tan, vec3{0, 0, 1}))}, LabelCanals)
	}
	// common crus (only while either vertical canal exists)
	if e.present[Anterior] || e.present[Posterior] {
		r := e.canalLumen*1.15 + grow
		for _, tb := range splitTube(ef.nodes(round([]vec3{crusTop, crusBase}, []float64{r, r * 1.1})), 6) {
			add(tb, LabelCanals)
		}
	}
	// cochlea
	if e.cystic > 0 {
		c := e.base.add(e.axis.scale(1.6))
		add(ellipsoid{c: ef.p(c), a: vec3{e.cystic + grow, e.cystic + grow, e.cystic*0.8 + grow}, rot: ef.r(frameFromAxis(e.axis, vec3{1, 0, 0}))}, LabelCochlea)
		hook := []vec3{vec3{0, -1.5, -1.2}, c.lerp(vec3{0, -1.5, -1.2}, 0.5)}
		for _, tb := range splitTube(ef.nodes(round(hook, []float64{1.0 + grow, 1.2 + grow})), 6) {
			add(tb, LabelCochlea)
		}
		return out
	}
	tEnd := 2 * math.Pi * e.turns
	if e.cysticAp > 0 {
		tEnd = 2 * math.Pi * 1.5
	}
	ns := e.ductNodes(tEnd)
	for i := range ns {
		ns[i].ra += grow
		ns[i].rz += grow
	}
	// hook: from inside the vestibule to the start of the basal turn
	start := e.duct(0)
	hook := []tubeNode{
		{p: vec3{0, -1.5, -1.2}, ra: 0.8 + grow, rz: 0.8 + grow},
		{p: vec3{0, -1.5, -1.2}.lerp(start, 0.6), ra: 0.85 + grow, rz: 0.85 + grow},
		{p: start, ra: math.Min(ns[0].ra, ns[0].rz), rz: math.Min(ns[0].ra, ns[0].rz)},
	}
	for _, tb := range splitTube(ef.nodes(hook), 6) {
		add(tb, LabelCochlea)
	}
	for _, tb := range splitTube(ef.nodes(ns), 6) {
		add(tb, LabelCochlea)
	}
	if e.cysticAp > 0 {
		c := e.duct(2 * math.Pi * 1.75)
		c = c.lerp(e.base.add(e.axis.scale(e.rzBase+e.rise*1.75)), 0.6)
		add(sphere{c: ef.p(c), r: e.cysticAp + grow}, LabelCochlea)
	}
	return out
}

// vaNodes is the vestibular aqueduct: from the posteromedial vestibule near
// the common crus, posteroinferiorly to the endolymphatic sac.
func (e *earShape) vaNodes() ([]vec3, []float64) {
	ps := []vec3{{-0.7, 1.2, 0.4}, {-1.4, 3.2, 0.2}, {-2.2, 5.4, -0.9}, {-3.0, 7.4, -2.6}, {-3.6, 9.2, -4.2}}
	mid := e.vaRadius
	rs := []float64{0.3, mid * 0.8, mid, mid * 1.2, mid * 1.5}
	return ps, rs
}
