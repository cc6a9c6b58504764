package phantom

import (
	"fmt"
	"math"
)

// Pathology names, as written in the manifest and the JSON sidecar.
const (
	Normal                  = "none"
	CochlearHypoplasia      = "cochlear_hypoplasia"
	IncompletePartition1    = "ip1"
	IncompletePartition2    = "ip2"
	EnlargedAqueduct        = "eva"
	CanalAplasia            = "scc_aplasia"
	CanalDysplasia          = "scc_dysplasia"
	LabyrinthitisOssificans = "labyrinthitis_ossificans"
	Otosclerosis            = "otosclerosis"
	CochlearImplant         = "cochlear_implant"
)

// Pathologies lists every pathology the generator simulates, in the order
// a cohort cycles through them.
var Pathologies = []string{
	CochlearHypoplasia, IncompletePartition1, IncompletePartition2, EnlargedAqueduct,
	CanalAplasia, CanalDysplasia, LabyrinthitisOssificans, Otosclerosis, CochlearImplant,
}

// PathologyInfo says in words what each pathology does to the phantom.
var PathologyInfo = map[string]string{
	Normal:                  "normal adult labyrinth",
	CochlearHypoplasia:      "smaller cochlea: A value and turns reduced with severity, thinner duct",
	IncompletePartition1:    "IP-I: cystic cochlea without modiolus, dilated vestibule",
	IncompletePartition2:    "IP-II (Mondini): normal basal turn, middle and apical turns fused into a cystic apex, enlarged aqueduct",
	EnlargedAqueduct:        "vestibular aqueduct wider than 1.5 mm at its midpoint (not labelled, like the normal aqueduct)",
	CanalAplasia:            "one to three semicircular canals absent (lateral first, then posterior, then anterior)",
	CanalDysplasia:          "lateral canal replaced by a short wide pouch fused with the vestibule",
	LabyrinthitisOssificans: "lumen partly filled with new bone (basal turn first, then canals); the label keeps only the patent lumen",
	Otosclerosis:            "hypodense foci in the otic capsule: fenestral, and pericochlear (retrofenestral) with severity",
	CochlearImplant:         "electrode array in the scala tympani with platinum contacts, lead through the mastoid, metal streaks",
}

// congenital pathologies are often bilateral.
var congenital = map[string]bool{CochlearHypoplasia: true, IncompletePartition1: true, IncompletePartition2: true,
	EnlargedAqueduct: true, CanalAplasia: true, CanalDysplasia: true}

// ValidPathology reports an unknown pathology name.
func ValidPathology(name string) error {
	if name == "" || name == Normal {
		return nil
	}
	for _, p := range Pathologies {
		if p == name {
			return nil
		}
	}
	return fmt.Errorf("unknown pathology %q (want none or one of %v)", name, Pathologies)
}

// pathologyPlan collects the extra solids a pathology paints in one ear,
// already in anatomical coordinates.
type pathologyPlan struct {
	spongiotic []shape
	ossify     []shape
	carrier    []shape
	metal      []shape
	metalPts   []vec3 // streak sources (anatomical)
}

// applyShape changes the ear's parameters for a pathology of severity s in
// (0, 1].
func applyShape(e *earShape, name string, s float64) {
	switch name {
	case CochlearHypoplasia:
		e.aValue -= 1.2 + 2.0*s
		e.turns = math.Max(1.1, e.turns-0.6-0.9*s)
		k := 1 - 0.22*s
		e.raBase *= k
		e.rzBase *= k
		e.raApex *= k
		e.rzApex *= k
		e.rApex *= 0.9
		e.rise = math.Max(minRise, (2.6-0.6*s-e.rzBase-e.rzApex)/e.turns)
	case IncompletePartition1:
		e.cystic = 2.5 + 0.8*s
		e.vest = e.vest.scale(1.25 + 0.3*s)
	case IncompletePartition2:
		e.cysticAp = 1.35 + 0.45*s
		e.vest = e.vest.scale(1.1 + 0.1*s)
		e.vaRadius = 0.75 + 0.4*s
	case EnlargedAqueduct:
		e.vaRadius = 0.8 + 0.9*s
	case CanalAplasia:
		n := 1 + int(math.Min(2, math.Floor(s*3)))
		order := []int{Lateral, Posterior, Anterior}
		for i := 0; i < n; i++ {
			e.present[order[i]] = false
		}
	case CanalDysplasia:
		e.lscDysplasia = true
	}
}

// planOverlays builds the solids painted over the normal anatomy
// (ossification, otosclerotic foci, electrode) for one ear.
func planOverlays(e *earShape, ef earFrame, name string, s float64) *pathologyPlan {
	p := &pathologyPlan{}
	switch name {
	case LabyrinthitisOssificans:
		// basal turn from the round window on, for a length growing with
		// severity; then lateral and posterior canal segments
		tEnd := 2 * math.Pi * e.turns
		t1 := tEnd * (0.12 + 0.45*s)
		ns := e.ductNodes(t1)
		for i := range ns {
			ns[i].ra += 0.05
			ns[i].rz += 0.05
		}
		for _, tb := range splitTube(ef.nodes(ns), 6) {
			p.ossify = append(p.ossify, tb)
		}
		// a partial plug further on: the scala tympani half of the duct
		for th := t1 + 0.8; th < math.Min(tEnd, t1+3.5); th += 0.5 {
			c := e.duct(th).sub(e.axis.scale(e.rz(th) * 0.55))
			p.ossify = append(p.ossify, ef.sphere(c, e.rz(th)*0.85))
		}
		cg := e.canals()
		for _, c := range []int{Lateral, Posterior} {
			if s < 0.35 && c == Posterior || !e.present[c] {
				continue
			}
			frac := 0.25 + 0.4*s
			a0 := 0.3 - frac/2
			ns := cg[c].nodes(math.Max(0.15, a0), a0+frac, func(t float64) float64 { return e.lumenAt(t) + 0.05 }, 12)
			for _, tb := range splitTube(ef.nodes(ns), 6) {
				p.ossify = append(p.ossify, tb)
			}
		}
	case Otosclerosis:
		// fissula ante fenestram: anterior to the oval window
		rad := 0.9 + 0.8*s
		p.spongiotic = append(p.spongiotic, ef.sphere(vec3{1.9, -2.3, -1.1}, rad))
		if s > 0.45 {
			// retrofenestral: a ring of spongiotic bone around the basal turn
			ns := e.ductNodes(2 * math.Pi * (0.6 + 0.6*s))
			for i := range ns {
				ns[i].ra += 0.75 + 0.4*s
				ns[i].rz += 0.75 + 0.4*s
			}
			for _, tb := range splitTube(ef.nodes(ns), 6) {
				p.spongiotic = append(p.spongiotic, tb)
			}
		}
	case CochlearImplant:
		// electrode in the scala tympani (lower half of the duct), inserted
		// through the round window to a depth growing with severity
		depth := 2 * math.Pi * (0.85 + 0.75*s)
		var ns []tubeNode
		rw := vec3{3.1, -1.9, -3.4}
		ns = append(ns, tubeNode{p: vec3{14, 12, 5}, ra: 0.6, rz: 0.6}, tubeNode{p: vec3{8, 6, 0}, ra: 0.55, rz: 0.55},
			tubeNode{p: vec3{5.5, 0, -3.0}, ra: 0.5, rz: 0.5}, tubeNode{p: rw, ra: 0.45, rz: 0.45})
		var contactsTh []float64
		n := int(math.Ceil(depth / 0.2))
		for i := 0; i <= n; i++ {
			th := depth * float64(i) / float64(n)
			c := e.duct(th).sub(e.axis.scale(e.rz(th) * 0.35))
			rad := 0.4 - 0.2*th/depth
			ns = append(ns, tubeNode{p: c, ra: rad, rz: rad})
		}
		for th := depth - 0.15; th > 0.3 && len(contactsTh) < 22; th -= depth / 16 {
			contactsTh = append(contactsTh, th)
		}
		for _, tb := range splitTube(ef.nodes(ns), 6) {
			p.carrier = append(p.carrier, tb)
		}
		// wire along the lead
		p.metal = append(p.metal, newTube(ef.nodes(round([]vec3{{20, 18, 8}, {14, 12, 5}, {8, 6, 0}, {5.5, 0, -3.0}, rw},
			[]float64{0.15, 0.15, 0.15, 0.15, 0.15}))))
		for _, th := range contactsTh {
			c := e.duct(th).sub(e.axis.scale(e.rz(th) * 0.35))
			rad := 0.32 - 0.08*th/depth
			p.metal = append(p.metal, ef.sphere(c, rad))
			p.metalPts = append(p.metalPts, ef.p(c))
		}
		p.metalPts = append(p.metalPts, ef.p(rw), ef.p(vec3{8, 6, 0}))
	}
	return p
}
