package phantom

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/otoseg/otoseg/ear"
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
	lscDysplasia bool       // lateral canal replaced by a wide stub fused with the vestibule
	utricle      float64    // size of the utricular (elliptical) recess bulge, relative
	canalK       [3]float64 // in-plane stretch of each arc across its chord (1: circular)
	canalTwist   [3]float64 // out-of-plane bow of each canal at mid-arc, mm (non-planarity)
	canalTilt    [3]vec3    // perturbation of each canal's plane normal (inter-canal angles)
	// aqueduct
	vaRadius float64 // vestibular aqueduct lumen radius at its midpoint

	// size scales every length of the ear (a big person's labyrinth is big
	// everywhere); warp bends the whole ear smoothly. Both act through the
	// ear's frame, so the parameters above are those of a unit-size ear.
	size float64
	warp *warpField

	// memo of spiral(), valid while memoKey matches the parameters
	memoKey [5]float64
	memoC   float64
	memoK   float64
}

// Anatomy selects the population phantom labyrinths are drawn from.
type Anatomy string

const (
	// AnatomyNormal draws adult labyrinths with the published spread of
	// every parameter (docs/phantom.md, "Anatomy"): what models train on.
	AnatomyNormal Anatomy = "normal"
	// AnatomyShifted draws from the tails of that population and beyond it:
	// very large or small labyrinths, flattened canals, unusual numbers of
	// turns, extreme lumen calibres and stronger bending. Models are never
	// trained on it; it tests whether they hold on shapes they never saw.
	AnatomyShifted Anatomy = "shifted"
)

// ValidAnatomy reports whether a is a known anatomy ("" means normal).
func ValidAnatomy(a Anatomy) error {
	switch a {
	case "", AnatomyNormal, AnatomyShifted:
		return nil
	}
	return fmt.Errorf("anatomy %q, want %s or %s", a, AnatomyNormal, AnatomyShifted)
}

// sizeSD is the spread of the ear's overall linear size (log scale). With
// the per-structure spreads it gives a labyrinth volume SD of ~12-13%,
// as in the 73 surface models (187 ± 24 mm³).
const sizeSD = 0.045

// sizeMean is the mean size factor: the unit-size ear's A value (8.85 mm)
// times it gives a population mean A of ~9.2 mm, between the two
// published series (8.75 and 9.23 mm).
const sizeMean = 1.04

// sampleEar draws an adult ear. Normal ears follow the published
// morphometry (docs/phantom.md has the table and its sources): a shared
// size factor, then each structure's own spread; shifted ears come from the
// tails and beyond (see AnatomyShifted).
func sampleEar(r *rand.Rand, anat Anatomy) earShape {
	g := func(m, s, lo, hi float64) float64 {
		return math.Max(lo, math.Min(hi, m+s*r.NormFloat64()))
	}
	sign := func() float64 {
		if r.IntN(2) == 0 {
			return -1
		}
		return 1
	}
	z := math.Max(-2.5, math.Min(2.5, r.NormFloat64()))
	e := earShape{
		aValue:     g(8.85, 0.27, 8.15, 9.55),
		turns:      g(2.6, 0.2, 2.2, 3.0),
		raBase:     g(1.75, 0.06, 1.63, 1.87),
		rzBase:     g(0.7, 0.035, 0.63, 0.77),
		raApex:     g(0.52, 0.03, 0.46, 0.58),
		rzApex:     g(0.38, 0.02, 0.34, 0.42),
		rApex:      g(0.6, 0.04, 0.52, 0.68),
		base:       vec3{-2.6, -5.4, -1.9},
		axis:       vec3{0.55, -0.72, -0.3}.unit(),
		vest:       vec3{g(1.45, 0.08, 1.25, 1.55), g(3.15, 0.14, 2.85, 3.45), g(2.9, 0.13, 2.6, 3.2)},
		utricle:    g(1.15, 0.1, 0.95, 1.35),
		canalR:     [3]float64{g(3.25, 0.18, 2.85, 3.65), g(3.15, 0.18, 2.75, 3.55), 0},
		canalLumen: g(0.63, 0.04, 0.54, 0.72),
		ampulla:    g(0.98, 0.05, 0.9, 1.06),
		present:    [3]bool{true, true, true},
		vaRadius:   g(0.35, 0.04, 0.28, 0.42),
	}
	// the lateral canal's radius of curvature is ~20% below the others'
	e.canalR[Lateral] = 0.8 * (e.canalR[Anterior] + e.canalR[Posterior]) / 2 * (1 + 0.03*r.NormFloat64())
	// canals are elliptic, non-planar arcs; the anterior twists most
	for c, tw := range [3][2]float64{{0.35, 0.1}, {0.22, 0.08}, {0.18, 0.07}} {
		e.canalK[c] = g(1, 0.05, 0.9, 1.1)
		e.canalTwist[c] = sign() * g(tw[0], tw[1], 0.05, 0.6)
		e.canalTilt[c] = vec3{r.NormFloat64(), r.NormFloat64(), r.NormFloat64()}.scale(0.045)
	}
	maxGrad := 0.08
	if anat == AnatomyShifted {
		// from the tails and beyond: always an unusual size, and at least
		// two of the shape shifts below
		z = sign() * (2.6 + 1.0*r.Float64())
		shifts := r.Perm(5)[:2+r.IntN(2)]
		for _, k := range shifts {
			switch k {
			case 0: // flattened canals
				for c := range e.canalK {
					if c == 0 || r.IntN(2) == 0 {
						e.canalK[c] = 0.78 + 0.06*r.Float64()
					}
				}
			case 1: // unusual number of turns
				if r.IntN(2) == 0 {
					e.turns = 2.0 + 0.15*r.Float64()
				} else {
					e.turns = 3.05 + 0.2*r.Float64()
				}
			case 2: // extreme canal calibre
				e.canalLumen = 0.47 + 0.22*float64(r.IntN(2)) + 0.02*r.Float64()
			case 3: // vestibule at the ends of its range
				e.vest = e.vest.scale(0.88 + 0.24*float64(r.IntN(2)))
			case 4: // stronger bending
				maxGrad = 0.14
			}
		}
	}
	e.size = sizeMean * math.Exp(sizeSD*z)
	e.warp = sampleWarp(r, maxGrad)
	// the anterior and lateral ampullae sit side by side: keep bone
	// between them, with room for the warp's relative shift, or the label
	// would gain a false loop (TestAmpullaeSeparate)
	cg := e.canals()
	d := cg[Anterior].at(0.07).sub(cg[Lateral].at(0.07)).norm()
	e.ampulla = math.Min(e.ampulla, (d-0.1-1.15*maxGrad*d)/(2*1.35))
	e.rise = (3.3 - e.rzBase - e.rzApex) / e.turns
	e.rise = math.Max(e.rise, minRise)
	return e
}

// minRise is the least rise of the duct centre per turn (mm, unit-size ear):
// with the duct's calibres it keeps a bony septum of at least 0.1 mm
// between successive turns (TestCochlearTurnsSeparate).
const minRise = 1.12

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

// canalGeom is a semicircular canal: an arc from one vestibular attachment
// (ampullated end, e1) round to the other (e2). It starts as a circle of
// radius r through both; k stretches it across the chord (k < 1 flattens
// it into an ellipse-like arc) and twist bows it out of its plane by up to
// twist mm at mid-arc, because real canals are neither circles nor planar.
// Both keep the attachments where they are.
type canalGeom struct {
	c, u, v vec3 // centre and in-plane unit vectors of the circle
	r       float64
	a0, a1  float64
	e1, e2  vec3
	mid, w  vec3 // chord midpoint; in-plane unit normal to the chord
	n       vec3 // plane normal
	k       float64
	twist   float64
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
	return canalGeom{c: centre, u: u, v: v, r: r, a0: 0, a1: a1, e1: e1, e2: e2, mid: mid, w: w, n: n, k: 1}
}

// at is the point of the canal's centre curve at t in [0, 1].
func (g canalGeom) at(t float64) vec3 {
	a := g.a0 + (g.a1-g.a0)*t
	p := g.c.add(g.u.scale(g.r * math.Cos(a))).add(g.v.scale(g.r * math.Sin(a)))
	if g.k != 1 && g.k != 0 {
		p = p.add(g.w.scale((g.k - 1) * p.sub(g.mid).dot(g.w)))
	}
	return p.add(g.n.scale(g.twist * math.Sin(math.Pi*t)))
}

// meanRadius is the mean distance of the centre curve from the circle's
// centre, in the plane: the radius of curvature a circle fit would see.
func (g canalGeom) meanRadius() float64 {
	var s float64
	const n = 64
	for i := 0; i <= n; i++ {
		d := g.at(float64(i) / n).sub(g.c)
		d = d.sub(g.n.scale(d.dot(g.n)))
		s += d.norm()
	}
	return s / (n + 1)
}

// nodes samples the canal from t0 to t1 as round tube nodes of radius
// rad(t).
func (g canalGeom) nodes(t0, t1 float64, rad func(t float64) float64, n int) []tubeNode {
	out := make([]tubeNode, n+1)
	for i := 0; i <= n; i++ {
		t := t0 + (t1-t0)*float64(i)/float64(n)
		r := rad(t)
		out[i] = tubeNode{p: g.at(t), ra: r, rz: r}
	}
	return out
}

// lumenAt is the canal's lumen radius at t: narrower mid-canal than at
// either end (about ±12% of the mean), as measured on CT.
func (e *earShape) lumenAt(t float64) float64 {
	return e.canalLumen * (1.08 - 0.24*math.Sin(math.Pi*t))
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
	g[Anterior] = circleThrough(ascAmp, crusTop, vec3{-0.72, -0.69, 0}.add(e.canalTilt[Anterior]), vec3{0.25, -0.3, 1}, e.canalR[Anterior])
	g[Posterior] = circleThrough(pscAmp, crusTop, vec3{0.7, -0.72, 0}.add(e.canalTilt[Posterior]), vec3{0.5, 0.6, -0.1}, e.canalR[Posterior])
	g[Lateral] = circleThrough(lscAmp, lscEnd, vec3{0, 0.25, 1}.add(e.canalTilt[Lateral]), vec3{1, 0.65, 0}, e.canalR[Lateral])
	for c := range g {
		if e.canalK[c] != 0 {
			g[c].k = e.canalK[c]
		}
		g[c].twist = e.canalTwist[c]
	}
	return g
}

// earFrame places an ear's local frame in anatomical space:
// anat = c + f·s·(local + warp(local)). f includes the mirror for the right
// ear; s is the ear's size and warp its smooth bend (earShape.size, .warp).
// Every solid of the temporal bone is built through the frame, so the
// labyrinth, its capsule and its neighbours (middle ear, internal auditory
// canal, facial canal, carotid, jugular bulb) keep their relations whatever
// the size and bend.
type earFrame struct {
	c vec3
	f mat3
	s float64
	w *warpField
}

// of returns the frame carrying ear e's size and bend.
func (ef earFrame) of(e *earShape) earFrame {
	ef.s, ef.w = e.size, e.warp
	return ef
}

func (ef earFrame) scl() float64 {
	if ef.s == 0 {
		return 1
	}
	return ef.s
}

func (ef earFrame) p(v vec3) vec3 { return ef.c.add(ef.f.apply(v.add(ef.w.at(v)).scale(ef.scl()))) }
func (ef earFrame) d(v vec3) vec3 { return ef.f.apply(v) }
func (ef earFrame) r(m mat3) mat3 { return ef.f.mul(m) }

// mm converts a length of the unit-size ear to anatomical mm.
func (ef earFrame) mm(x float64) float64 { return x * ef.scl() }

func (ef earFrame) nodes(ns []tubeNode) []tubeNode {
	out := make([]tubeNode, len(ns))
	for i, n := range ns {
		out[i] = tubeNode{p: ef.p(n.p), ra: ef.mm(n.ra), rz: ef.mm(n.rz), up: ef.d(n.up)}
	}
	return out
}

func (ef earFrame) sphere(c vec3, r float64) sphere { return sphere{c: ef.p(c), r: ef.mm(r)} }

func (ef earFrame) box(c, h vec3, rot mat3) obox {
	return obox{c: ef.p(c), h: h.scale(ef.scl()), rot: ef.r(rot)}
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
	return ellipsoid{c: ef.p(c), a: a.scale(ef.scl()), rot: ef.r(rot)}
}

// labyrinthLumen lists the lumen pieces of the labyrinth as (shape, label),
// in local coordinates scaled by grow mm outward: grow=0 is the lumen itself,
// grow>0 the otic capsule around it.
func (e *earShape) lumen(ef earFrame, grow float64) []object {
	var out []object
	add := func(s shape, l ear.Label) { out = append(out, object{s: s, label: uint8(l), bb: s.bounds()}) }
	// vestibule
	add(ef.ell(vec3{}, e.vest.add(vec3{grow, grow, grow}), rotXYZ(0, 0, 12)), ear.Vestibule)
	// spherical (saccular) recess, anteroinferior
	vs := e.vest.div(vec3{1.3, 2.95, 2.7})
	sr := e.vest.mul(vec3{1, 0.62, 0.6})
	add(ef.ell(vec3{-0.05, -1.1, -1.0}.mul(vs), sr.add(vec3{grow, grow, grow}), rotXYZ(0, 0, 12)), ear.Vestibule)
	// elliptical (utricular) recess: a bulge of the posterosuperior medial
	// wall towards the common crus, so the vestibule is no ellipsoid
	if e.utricle > 0 {
		ur := e.vest.mul(vec3{0.78, 0.55, 0.5}).scale(e.utricle)
		add(ef.ell(vec3{-0.3, 0.9, 0.95}.mul(vs), ur.add(vec3{grow, grow, grow}), rotXYZ(-25, 0, 12)), ear.Vestibule)
	}
	if e.lscDysplasia {
		// the lateral canal is a short wide pouch fused with the vestibule
		add(ef.ell(vec3{1.6, 0.6, 1.1}, vec3{1.9 + grow, 2.3 + grow, 1.3 + grow}, rotXYZ(0, 0, 25)), ear.Vestibule)
	}
	// canals
	cg := e.canals()
	for c := 0; c < 3; c++ {
		if !e.present[c] || (c == Lateral && e.lscDysplasia) {
			continue
		}
		ns := cg[c].nodes(0, 1, func(t float64) float64 { return e.lumenAt(t) + grow }, 28)
		// run each end into the vestibule
		r0, r1 := e.lumenAt(0)+grow, e.lumenAt(1)+grow
		in1 := tubeNode{p: cg[c].e1.scale(0.6), ra: r0, rz: r0}
		ns = append([]tubeNode{in1}, ns...)
		if c != Lateral {
			ns = append(ns, tubeNode{p: crusTop, ra: r1, rz: r1})
		} else {
			ns = append(ns, tubeNode{p: cg[c].e2.scale(0.6), ra: r1, rz: r1})
		}
		for _, tb := range splitTube(ef.nodes(ns), 6) {
			add(tb, ear.Canals)
		}
		// ampulla: a swelling just after the ampullated attachment
		ap := cg[c].at(0.07)
		tan := cg[c].at(0.09).sub(cg[c].at(0.05)).unit()
		a := e.ampulla + grow
		add(ef.ell(ap, vec3{a, a, a * 1.35}, frameFromAxis(tan, vec3{0, 0, 1})), ear.Canals)
	}
	// common crus (only while either vertical canal exists)
	if e.present[Anterior] || e.present[Posterior] {
		r := e.canalLumen*1.15 + grow
		for _, tb := range splitTube(ef.nodes(round([]vec3{crusTop, crusBase}, []float64{r, r * 1.1})), 6) {
			add(tb, ear.Canals)
		}
	}
	// cochlea
	if e.cystic > 0 {
		c := e.base.add(e.axis.scale(1.6))
		add(ef.ell(c, vec3{e.cystic + grow, e.cystic + grow, e.cystic*0.8 + grow}, frameFromAxis(e.axis, vec3{1, 0, 0})), ear.Cochlea)
		hook := []vec3{vec3{0, -1.5, -1.2}, c.lerp(vec3{0, -1.5, -1.2}, 0.5)}
		for _, tb := range splitTube(ef.nodes(round(hook, []float64{1.0 + grow, 1.2 + grow})), 6) {
			add(tb, ear.Cochlea)
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
		add(tb, ear.Cochlea)
	}
	for _, tb := range splitTube(ef.nodes(ns), 6) {
		add(tb, ear.Cochlea)
	}
	if e.cysticAp > 0 {
		c := e.duct(2 * math.Pi * 1.75)
		c = c.lerp(e.base.add(e.axis.scale(e.rzBase+e.rise*1.75)), 0.6)
		add(ef.sphere(c, e.cysticAp+grow), ear.Cochlea)
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
