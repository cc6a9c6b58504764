package phantom

import (
	"math"
	"math/rand/v2"
)

// headShape holds the per-subject variation of the head around the ears.
type headShape struct {
	scale     float64    // overall head size factor
	earX      [2]float64 // |x| of the left and right vestibule centres (mm from midline)
	earY      [2]float64
	earZ      [2]float64
	earYaw    [2]float64 // degrees, small asymmetries of each ear's frame
	earPitch  [2]float64
	pneum     float64 // mastoid pneumatisation, 0 sclerotic .. 1 well pneumatised
	skull     float64 // skull thickness mm
	boneDense float64 // factor on bone HU of this subject
}

func sampleHead(r *rand.Rand) headShape {
	g := func(m, s float64) float64 { return m + s*r.NormFloat64() }
	h := headShape{
		scale:     1 + 0.04*r.NormFloat64(),
		pneum:     0.35 + 0.6*r.Float64(),
		skull:     math.Max(4.5, g(6.5, 0.8)),
		boneDense: 1 + 0.04*r.NormFloat64(),
	}
	x := g(47.5, 1.8)
	y := g(4, 1.5)
	z := g(0, 1)
	for s := 0; s < 2; s++ {
		h.earX[s] = x + 0.8*r.NormFloat64()
		h.earY[s] = y + 0.8*r.NormFloat64()
		h.earZ[s] = z + 0.6*r.NormFloat64()
		h.earYaw[s] = 2 * r.NormFloat64()
		h.earPitch[s] = 2 * r.NormFloat64()
	}
	return h
}

// frame returns the local frame of ear side (0 left, 1 right) in
// anatomical LPS coordinates: the left ear is at +x, the right at -x.
func (h *headShape) frame(side int) earFrame {
	sx := 1.0
	if side == 1 {
		sx = -1
	}
	c := vec3{sx * h.earX[side], h.earY[side], h.earZ[side]}
	mirror := mat3{{sx, 0, 0}, {0, 1, 0}, {0, 0, 1}}
	return earFrame{c: c, f: mirror.mul(rotXYZ(0, h.earPitch[side], h.earYaw[side]))}
}

// addHead paints the head: scalp, skull, brain, skull base, sinuses,
// mandibular condyles; the temporal bones come from addEar.
func addHead(sc *scene, h *headShape) {
	s := h.scale
	c := vec3{0, 8, 30}
	outer := vec3{74 * s, 96 * s, 110 * s}
	sc.add(ellipsoid{c: c, a: outer, rot: ident3()}, Soft, 0)
	// subcutaneous fat under the scalp
	sc.add(diff{ellipsoid{c: c, a: outer.sub(vec3{2, 2, 2}), rot: ident3()}, ellipsoid{c: c, a: outer.sub(vec3{4.5, 4.5, 4.5}), rot: ident3()}}, Fat, 0)
	t := h.skull
	in0 := outer.sub(vec3{5, 5, 5})
	inner := in0.sub(vec3{t, t, t})
	sc.add(diff{ellipsoid{c: c, a: in0, rot: ident3()}, ellipsoid{c: c, a: inner, rot: ident3()}}, Cortical, 0)
	sc.add(diff{ellipsoid{c: c, a: in0.sub(vec3{t * 0.3, t * 0.3, t * 0.3}), rot: ident3()}, ellipsoid{c: c, a: in0.sub(vec3{t * 0.75, t * 0.75, t * 0.75}), rot: ident3()}}, Marrow, 0)
	brain := ellipsoid{c: c, a: inner, rot: ident3()}
	skull := ellipsoid{c: c, a: in0, rot: ident3()}
	// the brain stops at the skull base: the middle fossa floor lies just
	// above the middle ears (z = 4), the posterior fossa reaches down to the
	// foramen magnum (z = -30) behind the petrous ridges (y = 4). Bone lines
	// both; below the middle fossa, in front, is soft tissue.
	above := func(z float64) halfspace { return halfspace{c: vec3{0, 0, z}, n: vec3{0, 0, -1}} }
	behind := func(y float64) halfspace { return halfspace{c: vec3{0, y, 0}, n: vec3{0, -1, 0}} }
	const plate = 2.5 // mm of bone lining the fossae
	sc.add(inter{inter{skull, above(4 - plate)}, halfspace{c: vec3{0, 0, 4 + 40}, n: vec3{0, 0, 1}}}, Cortical, 0)
	sc.add(inter{inter{skull, behind(4 - plate)}, above(-30 - plate)}, Cortical, 0)
	sc.add(inter{brain, above(4)}, Brain, 0)
	sc.add(inter{inter{brain, behind(4)}, above(-30)}, Brain, 0)
	// CSF of the cerebellopontine cisterns and around the brainstem
	sc.add(ellipsoid{c: vec3{0, 14, -8}, a: vec3{24 * s, 14, 24}, rot: ident3()}, Fluid, 0)
	sc.add(ellipsoid{c: vec3{0, 16, -8}, a: vec3{13 * s, 11, 30}, rot: ident3()}, Brain, 0)
	sc.add(ellipsoid{c: vec3{0, 40, -14}, a: vec3{45 * s, 28, 20}, rot: ident3()}, Brain, 0) // cerebellum
	// skull base plate under the middle fossa and the clivus
	sc.add(inter{obox{c: vec3{0, -30, -16}, h: vec3{40 * s, 26, 2.5}, rot: rotXYZ(-4, 0, 0)}, ellipsoid{c: vec3{0, -30, -16}, a: vec3{44 * s, 30, 10}, rot: ident3()}}, Cortical, 0)
	sc.add(ellipsoid{c: vec3{0, -6, -18}, a: vec3{9, 6, 15}, rot: rotXYZ(-25, 0, 0)}, Cortical, 0)
	sc.add(ellipsoid{c: vec3{0, -6, -18}, a: vec3{7.5, 4.5, 13.5}, rot: rotXYZ(-25, 0, 0)}, Marrow, 0)
	// sphenoid sinus and nasopharynx (air near the midline)
	sc.add(ellipsoid{c: vec3{0, -26, -6}, a: vec3{12 * s, 10, 8}, rot: ident3()}, Air, 0)
	sc.add(obox{c: vec3{0, -34, -30}, h: vec3{13, 9, 8}, rot: ident3()}, Air, 0)
	// neck muscles below the skull base, behind the pharynx
	sc.add(inter{ellipsoid{c: vec3{0, 20, -40}, a: vec3{55 * s, 45, 30}, rot: ident3()}, halfspace{c: vec3{0, 0, -30}, n: vec3{0, 0, 1}}}, Soft, 0)
	// foramen magnum rim and the occipital condyles
	for _, sx := range []float64{-1, 1} {
		sc.add(ellipsoid{c: vec3{sx * 14, 12, -34}, a: vec3{7, 10, 6}, rot: ident3()}, Cortical, 0)
		// mandibular condyle in the glenoid fossa, anterior to the EAC
		sc.add(ellipsoid{c: vec3{sx * 50 * s, -11, -4}, a: vec3{9, 4.5, 5}, rot: rotXYZ(0, 0, sx*-15)}, Cortical, 0)
		sc.add(ellipsoid{c: vec3{sx * 50 * s, -11, -4}, a: vec3{7.5, 3.2, 3.8}, rot: rotXYZ(0, 0, sx*-15)}, Marrow, 0)
		sc.add(ellipsoid{c: vec3{sx * 48 * s, -12, -22}, a: vec3{5, 5, 16}, rot: ident3()}, Cortical, 0) // ramus
	}
}

// earBuild paints one temporal bone: petrous and mastoid bone, the otic
// capsule, the middle ear with ossicles, the external canal, the internal
// auditory canal, the vessels and nerve canals that look like labyrinth on
// one slice, and finally the labyrinth lumen (labelled).
func addEar(sc *scene, ef earFrame, e *earShape, h *headShape, r *rand.Rand, p *pathologyPlan) {
	// petrous pyramid (apex anteromedial) and the lateral tympanic/squamous bone
	sc.add(ef.ell(vec3{-7, -5, -1}, vec3{24, 9, 9.5}, frameFromAxis(vec3{0, 0, 1}, vec3{-0.72, -0.69, 0})), Petrous, 0)
	sc.add(ef.ell(vec3{6, 1, -1}, vec3{10, 12, 10.5}, rotXYZ(0, 0, 10)), Cortical, 0)
	// mastoid: trabecular bone honeycombed with air cells
	mast := ef.ell(vec3{11, 13, -6}, vec3{10, 12, 14}, rotXYZ(10, 0, 15))
	sc.add(mast, Marrow, 0)
	sc.add(diff{mast, ef.ell(vec3{11, 13, -6}, vec3{9, 11, 13}, rotXYZ(10, 0, 15))}, Cortical, 0)
	cells := ef.ell(vec3{11, 12, -4}, vec3{8.5, 10.5, 11.5}, rotXYZ(10, 0, 15))
	const sp = 3.1
	for x := -1.0; x <= 21; x += sp {
		for y := 0.0; y <= 25; y += sp {
			for z := -17.0; z <= 9; z += sp {
				jit := vec3{(r.Float64() - .5) * 0.9, (r.Float64() - .5) * 0.9, (r.Float64() - .5) * 0.9}
				q := vec3{x, y, z}.add(jit)
				rad := 0.75 + 0.7*r.Float64()
				keep := r.Float64() < h.pneum
				// cells stay clear of the labyrinth and facial canal
				if !keep || cells.sdf(ef.p(q)) > 0 || q.norm() < 8.5 || math.Abs(q[0]-4.2) < 2.4 && q[1] < 6.5 {
					continue
				}
				sc.add(ef.sphere(q, rad), Air, 0)
			}
		}
	}
	// marrow spaces and apical air cells in the petrous apex, kept 6 mm
	// from the labyrinth: the apex is not uniform bone
	for i := 0; i < 14; i++ {
		q := vec3{-8 - 12*r.Float64(), -6 - 8*r.Float64(), -4 + 6*r.Float64()}
		if q.sub(e.base).norm() < 6 || q.norm() < 6 {
			continue
		}
		t := Marrow
		if r.Float64() < 0.35*h.pneum {
			t = Air
		}
		sc.add(ef.sphere(q, 0.7+1.3*r.Float64()), t, 0)
	}
	// otic capsule: the labyrinth grown by ~1.5 mm, plus the cochlear shell
	for _, o := range e.lumen(ef, 1.5) {
		sc.add(o.s, Capsule, 0)
	}
	sc.add(ef.ell(e.base.add(e.axis.scale(1.7)), vec3{4.9, 4.9, 3.0}, frameFromAxis(e.axis, vec3{1, 0, 0})), Capsule, 0)
	if p != nil && p.spongiotic != nil {
		for _, s := range p.spongiotic {
			o := sc.add(s, Spongiotic, 0)
			o.only = over(Capsule, Petrous)
		}
	}
	// middle ear: mesotympanum, epitympanum (attic), aditus and antrum,
	// oval window niche; then the external auditory canal
	sc.add(ef.ell(vec3{5.4, -1.6, -2.8}, vec3{2.0, 4.6, 2.9}, ident3()), Air, 0)
	sc.add(ef.ell(vec3{6.8, -0.2, 1.6}, vec3{1.9, 3.4, 2.4}, ident3()), Air, 0)
	sc.add(ef.ell(vec3{7.6, 4.4, 2.6}, vec3{1.6, 3.2, 1.5}, rotXYZ(0, 0, 20)), Air, 0)
	sc.add(ef.sphere(vec3{8.8, 8.2, 2.4}, 3.2), Air, 0)
	sc.add(ef.box(vec3{2.6, -0.5, -1.45}, vec3{0.9, 1.4, 0.65}, ident3()), Air, 0)
	// round window niche below and behind the oval window
	sc.add(ef.sphere(vec3{3.1, -1.9, -3.4}, 0.9), Air, 0)
	ef.tube(sc, Air, 0, []vec3{{6.6, -1.4, -2.0}, {14, -1.2, -1.6}, {22, -1.0, -1.0}, {34, -0.8, -0.4}}, []float64{3.0, 3.4, 3.8, 4.2})
	// ossicles
	sc.add(ef.sphere(vec3{6.6, -1.8, 2.0}, 1.15), Ossicle, 0)                                                           // malleus head
	ef.tube(sc, Ossicle, 0, []vec3{{6.6, -1.8, 1.0}, {7.0, -1.5, -1.0}, {7.3, -1.2, -3.3}}, []float64{0.45, 0.38, 0.3}) // manubrium
	sc.add(ef.ell(vec3{6.7, 0.2, 2.0}, vec3{0.95, 1.2, 1.0}, ident3()), Ossicle, 0)                                     // incus body
	ef.tube(sc, Ossicle, 0, []vec3{{6.7, 0.8, 2.3}, {6.6, 2.3, 2.5}}, []float64{0.45, 0.3})                             // short process
	ef.tube(sc, Ossicle, 0, []vec3{{6.5, 0.5, 1.2}, {5.8, 0.0, -0.6}, {4.4, -0.5, -1.45}}, []float64{0.35, 0.3, 0.3})
	sc.add(ef.sphere(vec3{4.1, -0.5, -1.45}, 0.35), Ossicle, 0) // stapes head
	ef.tube(sc, Ossicle, 0, []vec3{{3.9, -0.5, -1.45}, {1.9, -1.3, -1.45}}, []float64{0.2, 0.18})
	ef.tube(sc, Ossicle, 0, []vec3{{3.9, -0.5, -1.45}, {1.9, 0.3, -1.45}}, []float64{0.2, 0.18})
	sc.add(ef.ell(vec3{1.55, -0.5, -1.45}, vec3{0.17, 1.35, 0.55}, ident3()), Ossicle, 0) // footplate
	// internal auditory canal (nerves in CSF) from the fundus to the porus
	ef.tube(sc, Nerve, 0, []vec3{{-3.4, -2.9, -0.6}, {-6, -2.6, -0.6}, {-10, -2.0, -0.6}, {-15, -1.2, -0.6}}, []float64{1.15, 1.9, 2.2, 2.9})
	// facial nerve canal: labyrinthine, geniculate, tympanic, mastoid segments
	ef.tube(sc, Nerve, 0, []vec3{{-3.8, -3.4, 0.6}, {-1.8, -3.2, 1.6}, {0.6, -4.2, 2.2}, {2.2, -3.6, 0.7}, {2.9, -1.5, 0.05}, {3.2, 1.0, -0.1}, {4.0, 3.2, -0.8}, {4.6, 4.6, -4}, {4.8, 5.2, -14}},
		[]float64{0.55, 0.55, 0.8, 0.55, 0.55, 0.55, 0.6, 0.65, 0.7})
	// carotid canal: vertical then horizontal, anteroinferior to the cochlea
	ef.tube(sc, Blood, 0, []vec3{{-1, -8.5, -22}, {-1.5, -9.5, -10.5}, {-4, -11.5, -7.8}, {-12, -17, -6.5}, {-20, -22, -5.5}}, []float64{2.6, 2.7, 2.7, 2.6, 2.5})
	// jugular bulb and sigmoid sinus
	sc.add(ef.ell(vec3{-1.5, 6.5, -10.5}, vec3{4, 4.2, 3.6}, ident3()), Blood, 0)
	ef.tube(sc, Blood, 0, []vec3{{-1.5, 6.5, -10}, {2, 12, -8}, {6, 19, -2}, {6, 26, 8}}, []float64{3.2, 3.4, 3.6, 3.8})
	// vestibular aqueduct and endolymphatic sac
	va, vr := e.vaNodes()
	ef.tube(sc, Fluid, 0, va, vr)
	last := va[len(va)-1]
	sc.add(ef.ell(last.add(vec3{-0.6, 1.2, -1.4}), vec3{1.2 * vr[len(vr)-1] / 0.5, 3.0, 3.5}, rotXYZ(0, 0, -35)), Fluid, 0)
	// subarcuate canal: a small vessel canal from the posterior fossa
	// through the arch of the anterior canal (a classic look-alike)
	if ac := e.canals()[Anterior]; e.present[Anterior] {
		n := ac.u.cross(ac.v).unit()
		if n[0] > 0 { // point it medially (-x)
			n = n.scale(-1)
		}
		ef.tube(sc, Soft, 0, []vec3{ac.c.add(n.scale(6)), ac.c, ac.c.sub(n.scale(1.5))}, []float64{0.45, 0.3, 0.25})
	}
	// cochlear aqueduct: a thin fluid duct from below the basal turn
	// towards the jugular foramen
	if e.cystic == 0 {
		st := e.duct(0.5).add(vec3{0, 0, -(e.rz(0.5) + e.ra(0.5) + 0.45)})
		ef.tube(sc, Fluid, 0, []vec3{st, st.add(vec3{-2, 1.5, -3}), st.add(vec3{-4, 3.5, -6.5})}, []float64{0.22, 0.3, 0.6})
	}
	// modiolus (spongy bone carrying the cochlear nerve)
	if e.cystic == 0 {
		ht := e.height() - 0.4
		ms := []vec3{e.base.sub(e.axis.scale(0.2)), e.base.add(e.axis.scale(ht))}
		ef.tube(sc, Modiolus, 0, ms, []float64{0.85, 0.3})
	}
	// the labyrinth lumen, labelled
	for _, o := range e.lumen(ef, 0) {
		sc.add(o.s, Fluid, o.label)
	}
	if p != nil {
		for _, s := range p.ossify {
			o := sc.add(s, NewBone, 0)
			o.only = over(Fluid)
		}
		for _, s := range p.carrier {
			o := sc.add(s, Silicone, 0)
			o.keepLabel = true
		}
		for _, s := range p.metal {
			o := sc.add(s, Metal, 0)
			o.keepLabel = true
		}
	}
}
