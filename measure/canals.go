package measure

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// CanalSet is the three semicircular canals and the angles between their
// planes; a canal that could not be found is nil, with a warning.
type CanalSet struct {
	Anterior  *Canal `json:"anterior"`
	Posterior *Canal `json:"posterior"`
	Lateral   *Canal `json:"lateral"`
	// AnglesDeg are the angles between the canals' planes (0-90°), keyed
	// "anterior_posterior", "anterior_lateral", "posterior_lateral".
	AnglesDeg map[string]float64 `json:"angles_deg,omitempty"`
}

// Canal is one semicircular canal's arc as a circle in its best plane.
type Canal struct {
	// RadiusMM is the mean distance of the canal's centreline from the
	// circle's centre: its radius of curvature.
	RadiusMM float64    `json:"radius_mm"`
	CentreMM [3]float64 `json:"centre_lps_mm"`
	// Normal is the unit normal of the canal's plane (LPS).
	Normal [3]float64 `json:"normal"`
	// ArcDeg is how much of the circle the canal covers.
	ArcDeg float64 `json:"arc_deg"`
	// RMSOutOfPlaneMM is how far the canal leaves its plane (RMS).
	RMSOutOfPlaneMM float64 `json:"rms_out_of_plane_mm"`
}

// circle is a circle in space.
type circle struct {
	c, n vec
	r    float64
}

// dist is the distance from p to the circle.
func (c circle) dist(p vec) float64 {
	v := p.sub(c.c)
	z := v.dot(c.n)
	return math.Hypot(v.perp(c.n).norm()-c.r, z)
}

// canalTol is how far (mm) a canal voxel may lie from its arc's circle:
// a canal's lumen radius is about 0.65 mm, its ampulla about 1 mm.
const canalTol = 1.0

// measureCanals finds the three canals as circles in the canal label
// (RANSAC, then least squares) and names them by their planes: the
// lateral canal lies nearest the axial plane, the anterior in front of
// the posterior (smaller LPS y).
func measureCanals(e *Ear, b *earBox) {
	var pts []vec
	for k := 0; k < b.dims[2]; k++ {
		for j := 0; j < b.dims[1]; j++ {
			for i := 0; i < b.dims[0]; i++ {
				if b.at(i, j, k) == Canals {
					pts = append(pts, b.world(float64(i), float64(j), float64(k)))
				}
			}
		}
	}
	pts = subsample(pts, 6000)
	rng := rand.New(rand.NewPCG(16, uint64(len(pts))))
	var found []*Canal
	rest := pts
	for len(found) < 3 && len(rest) >= 30 {
		c, in, ok := bestCircle(rest, rng)
		if !ok {
			break
		}
		cn := describeCanal(c, in)
		if cn.ArcDeg < 150 {
			break // a blob, not an arc
		}
		found = append(found, cn)
		var keep []vec
		for _, p := range rest {
			if c.dist(p) > canalTol {
				keep = append(keep, p)
			}
		}
		rest = keep
	}
	nameCanals(e, found)
}

// bestCircle finds the circle through the most points by random triples,
// then refits it to its inliers.
func bestCircle(pts []vec, rng *rand.Rand) (circle, []vec, bool) {
	var best circle
	bestN := 0
	probe := subsample(pts, 1500)
	for it := 0; it < 1500; it++ {
		c, ok := circleThrough(pts[rng.IntN(len(pts))], pts[rng.IntN(len(pts))], pts[rng.IntN(len(pts))])
		if !ok || c.r < 1.5 || c.r > 6 {
			continue
		}
		n := 0
		for _, p := range probe {
			if c.dist(p) < canalTol*0.7 {
				n++
			}
		}
		if n > bestN {
			best, bestN = c, n
		}
	}
	if bestN < 20 {
		return circle{}, nil, false
	}
	var in []vec
	for round := 0; round < 4; round++ {
		in = in[:0]
		for _, p := range pts {
			if best.dist(p) < canalTol {
				in = append(in, p)
			}
		}
		if len(in) < 20 {
			return circle{}, nil, false
		}
		c, ok := fitCircle(in)
		if !ok {
			break
		}
		best = c
	}
	return best, in, true
}

// circleThrough is the circle through three points.
func circleThrough(a, b, c vec) (circle, bool) {
	ab, ac := b.sub(a), c.sub(a)
	n := ab.cross(ac)
	nn := n.dot(n)
	if nn < 1e-6 {
		return circle{}, false
	}
	// circumcentre: a + (|ac|²(n×ab) + |ab|²(ac×n)) / (2|n|²)
	off := n.cross(ab).scale(ac.dot(ac)).add(ac.cross(n).scale(ab.dot(ab))).scale(1 / (2 * nn))
	return circle{c: a.add(off), n: n.unit(), r: off.norm()}, true
}

// fitCircle fits a plane (least spread) and then a circle in it (Kåsa's
// algebraic fit) to points.
func fitCircle(pts []vec) (circle, bool) {
	m, cov := moments(pts)
	_, ev := symEigen(cov)
	n, u := ev[0], ev[2]
	v := n.cross(u)
	xs := make([][]float64, len(pts))
	ys := make([]float64, len(pts))
	ws := make([]float64, len(pts))
	for i, p := range pts {
		d := p.sub(m)
		x, y := d.dot(u), d.dot(v)
		xs[i] = []float64{x, y, 1}
		ys[i] = x*x + y*y
		ws[i] = 1
	}
	q, err := leastSquares(xs, ys, ws)
	if err != nil {
		return circle{}, false
	}
	cx, cy := q[0]/2, q[1]/2
	r2 := q[2] + cx*cx + cy*cy
	if r2 <= 0 {
		return circle{}, false
	}
	return circle{c: m.add(u.scale(cx)).add(v.scale(cy)), n: n, r: math.Sqrt(r2)}, true
}

// describeCanal measures a canal from its circle and its points: the mean
// in-plane distance from the centre, the arc covered (in 10° sectors that
// hold points) and the out-of-plane spread.
func describeCanal(c circle, in []vec) *Canal {
	u := in[0].sub(c.c).perp(c.n).unit()
	v := c.n.cross(u)
	var sectors [36]bool
	var rs, zz float64
	for _, p := range in {
		d := p.sub(c.c)
		z := d.dot(c.n)
		zz += z * z
		rs += d.perp(c.n).norm()
		a := math.Atan2(d.dot(v), d.dot(u))
		if a < 0 {
			a += 2 * math.Pi
		}
		sectors[min(35, int(a/(2*math.Pi)*36))] = true
	}
	arc := 0
	for _, s := range sectors {
		if s {
			arc += 10
		}
	}
	n := float64(len(in))
	return &Canal{RadiusMM: r3(rs / n), CentreMM: c.c.round(1000), Normal: c.n.round(10000),
		ArcDeg: float64(arc), RMSOutOfPlaneMM: r3(math.Sqrt(zz / n))}
}

// nameCanals names the circles found: the lateral canal's plane is the
// nearest to axial (largest |normal z|); of the two vertical canals the
// anterior lies in front (smaller y). A single vertical canal is named by
// its plane's direction: the anterior canal's plane runs anterolaterally,
// so its normal's x·y is positive in a left ear and negative in a right.
func nameCanals(e *Ear, found []*Canal) {
	var vertical []*Canal
	li := -1
	for i, c := range found {
		if math.Abs(c.Normal[2]) > 0.7 && (li < 0 || math.Abs(c.Normal[2]) > math.Abs(found[li].Normal[2])) {
			li = i
		}
	}
	for i, c := range found {
		if i == li {
			e.Canals.Lateral = c
		} else if math.Abs(c.Normal[2]) < 0.7 {
			vertical = append(vertical, c)
		}
	}
	switch len(vertical) {
	case 2:
		if vertical[0].CentreMM[1] > vertical[1].CentreMM[1] {
			vertical[0], vertical[1] = vertical[1], vertical[0]
		}
		e.Canals.Anterior, e.Canals.Posterior = vertical[0], vertical[1]
	case 1:
		xy := vertical[0].Normal[0] * vertical[0].Normal[1]
		if (xy > 0) == (e.Side == "left") {
			e.Canals.Anterior = vertical[0]
		} else {
			e.Canals.Posterior = vertical[0]
		}
	}
	for _, c := range []struct {
		name string
		c    *Canal
	}{{"anterior", e.Canals.Anterior}, {"posterior", e.Canals.Posterior}, {"lateral", e.Canals.Lateral}} {
		if c.c == nil {
			e.Warnings = append(e.Warnings, fmt.Sprintf("canals.%s: not measured: no arc of a canal found in that plane in the canal label (absent, interrupted or fused)", c.name))
		}
	}
	pairs := []struct {
		key  string
		a, b *Canal
	}{{"anterior_posterior", e.Canals.Anterior, e.Canals.Posterior}, {"anterior_lateral", e.Canals.Anterior, e.Canals.Lateral}, {"posterior_lateral", e.Canals.Posterior, e.Canals.Lateral}}
	for _, p := range pairs {
		if p.a == nil || p.b == nil {
			continue
		}
		if e.Canals.AnglesDeg == nil {
			e.Canals.AnglesDeg = map[string]float64{}
		}
		cos := math.Abs(vec(p.a.Normal).dot(vec(p.b.Normal)))
		e.Canals.AnglesDeg[p.key] = math.Round(math.Acos(math.Min(1, cos))*1800/math.Pi) / 10
	}
}
