package phantom

import "math"

// vec3 is a point or direction in millimetres.
type vec3 [3]float64

func (a vec3) add(b vec3) vec3             { return vec3{a[0] + b[0], a[1] + b[1], a[2] + b[2]} }
func (a vec3) sub(b vec3) vec3             { return vec3{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }
func (a vec3) scale(s float64) vec3        { return vec3{a[0] * s, a[1] * s, a[2] * s} }
func (a vec3) dot(b vec3) float64          { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }
func (a vec3) norm() float64               { return math.Sqrt(a.dot(a)) }
func (a vec3) mul(b vec3) vec3             { return vec3{a[0] * b[0], a[1] * b[1], a[2] * b[2]} }
func (a vec3) div(b vec3) vec3             { return vec3{a[0] / b[0], a[1] / b[1], a[2] / b[2]} }
func (a vec3) lerp(b vec3, t float64) vec3 { return a.add(b.sub(a).scale(t)) }
func (a vec3) cross(b vec3) vec3 {
	return vec3{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}
func (a vec3) unit() vec3 {
	n := a.norm()
	if n == 0 {
		return a
	}
	return a.scale(1 / n)
}

// mat3 is a 3x3 matrix, row-major; rotations map local to parent frames.
type mat3 [3][3]float64

func ident3() mat3 { return mat3{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}} }

func (m mat3) apply(v vec3) vec3 {
	return vec3{
		m[0][0]*v[0] + m[0][1]*v[1] + m[0][2]*v[2],
		m[1][0]*v[0] + m[1][1]*v[1] + m[1][2]*v[2],
		m[2][0]*v[0] + m[2][1]*v[1] + m[2][2]*v[2],
	}
}

func (m mat3) mul(n mat3) mat3 {
	var r mat3
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 3; k++ {
				r[i][j] += m[i][k] * n[k][j]
			}
		}
	}
	return r
}

func (m mat3) t() mat3 {
	var r mat3
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			r[i][j] = m[j][i]
		}
	}
	return r
}

// rotXYZ is Rz(c)·Ry(b)·Rx(a), angles in degrees.
func rotXYZ(a, b, c float64) mat3 {
	a, b, c = a*math.Pi/180, b*math.Pi/180, c*math.Pi/180
	rx := mat3{{1, 0, 0}, {0, math.Cos(a), -math.Sin(a)}, {0, math.Sin(a), math.Cos(a)}}
	ry := mat3{{math.Cos(b), 0, math.Sin(b)}, {0, 1, 0}, {-math.Sin(b), 0, math.Cos(b)}}
	rz := mat3{{math.Cos(c), -math.Sin(c), 0}, {math.Sin(c), math.Cos(c), 0}, {0, 0, 1}}
	return rz.mul(ry).mul(rx)
}

// frameFromAxis returns a rotation whose third column is z (unit) and whose
// first column is the part of xHint perpendicular to z.
func frameFromAxis(z, xHint vec3) mat3 {
	z = z.unit()
	x := xHint.sub(z.scale(xHint.dot(z))).unit()
	y := z.cross(x)
	return mat3{{x[0], y[0], z[0]}, {x[1], y[1], z[1]}, {x[2], y[2], z[2]}}
}

// box is an axis-aligned bounding box.
type box struct{ lo, hi vec3 }

func emptyBox() box {
	inf := math.Inf(1)
	return box{vec3{inf, inf, inf}, vec3{-inf, -inf, -inf}}
}

func (b box) grow(p vec3) box {
	for a := 0; a < 3; a++ {
		b.lo[a] = math.Min(b.lo[a], p[a])
		b.hi[a] = math.Max(b.hi[a], p[a])
	}
	return b
}

func (b box) union(c box) box { return b.grow(c.lo).grow(c.hi) }

func (b box) pad(r float64) box {
	return box{b.lo.sub(vec3{r, r, r}), b.hi.add(vec3{r, r, r})}
}

func (b box) overlaps(c box) bool {
	for a := 0; a < 3; a++ {
		if b.hi[a] < c.lo[a] || c.hi[a] < b.lo[a] {
			return false
		}
	}
	return true
}

// shape is a solid described by an approximate signed distance in mm
// (negative inside). The renderer relies on |sdf| not overestimating the
// distance to the surface by much: where |sdf| exceeds a voxel's reach the
// voxel is taken as wholly inside or outside without supersampling.
type shape interface {
	sdf(p vec3) float64
	bounds() box
}

type sphere struct {
	c vec3
	r float64
}

func (s sphere) sdf(p vec3) float64 { return p.sub(s.c).norm() - s.r }
func (s sphere) bounds() box        { return box{s.c, s.c}.pad(s.r) }

// ellipsoid with semi-axes a along the columns of rot, centred at c.
type ellipsoid struct {
	c   vec3
	a   vec3
	rot mat3 // local -> parent
}

func (e ellipsoid) sdf(p vec3) float64 {
	q := e.rot.t().apply(p.sub(e.c))
	k0 := q.div(e.a).norm()
	k1 := q.div(e.a.mul(e.a)).norm()
	if k1 == 0 {
		return -math.Min(e.a[0], math.Min(e.a[1], e.a[2]))
	}
	return k0 * (k0 - 1) / k1
}

func (e ellipsoid) bounds() box {
	var h vec3
	for r := 0; r < 3; r++ {
		for c := 0; c < 3; c++ {
			h[r] += math.Abs(e.rot[r][c]) * e.a[c]
		}
	}
	return box{e.c.sub(h), e.c.add(h)}
}

// ellFast is an ellipsoid with its inverse rotation and axis reciprocals
// precomputed; scenes hold these.
type ellFast struct {
	c       vec3
	rt      mat3
	ia, ia2 vec3
	minA    float64
	bb      box
}

func (e ellFast) sdf(p vec3) float64 {
	q := e.rt.apply(p.sub(e.c))
	k0 := q.mul(e.ia).norm()
	k1 := q.mul(e.ia2).norm()
	if k1 == 0 {
		return -e.minA
	}
	return k0 * (k0 - 1) / k1
}
func (e ellFast) bounds() box { return e.bb }

type oboxFast struct {
	c  vec3
	h  vec3
	rt mat3
	bb box
}

func (b oboxFast) sdf(p vec3) float64 {
	q := b.rt.apply(p.sub(b.c))
	var out float64
	in := -math.MaxFloat64
	for a := 0; a < 3; a++ {
		d := math.Abs(q[a]) - b.h[a]
		if d > 0 {
			out += d * d
		}
		in = math.Max(in, d)
	}
	if out > 0 {
		return math.Sqrt(out)
	}
	return in
}
func (b oboxFast) bounds() box { return b.bb }

// prep replaces shapes by their precomputed forms.
func prep(s shape) shape {
	switch v := s.(type) {
	case ellipsoid:
		return ellFast{c: v.c, rt: v.rot.t(), ia: vec3{1 / v.a[0], 1 / v.a[1], 1 / v.a[2]},
			ia2:  vec3{1 / (v.a[0] * v.a[0]), 1 / (v.a[1] * v.a[1]), 1 / (v.a[2] * v.a[2])},
			minA: math.Min(v.a[0], math.Min(v.a[1], v.a[2])), bb: v.bounds()}
	case obox:
		return oboxFast{c: v.c, h: v.h, rt: v.rot.t(), bb: v.bounds()}
	case diff:
		return diff{prep(v.a), prep(v.b)}
	case inter:
		return inter{prep(v.a), prep(v.b)}
	}
	return s
}

// obox is an oriented box with half sizes h.
type obox struct {
	c   vec3
	h   vec3
	rot mat3
}

func (b obox) sdf(p vec3) float64 {
	q := b.rot.t().apply(p.sub(b.c))
	var out, in float64
	in = -math.MaxFloat64
	for a := 0; a < 3; a++ {
		d := math.Abs(q[a]) - b.h[a]
		if d > 0 {
			out += d * d
		}
		in = math.Max(in, d)
	}
	if out > 0 {
		return math.Sqrt(out)
	}
	return in
}

func (b obox) bounds() box {
	var h vec3
	for r := 0; r < 3; r++ {
		for c := 0; c < 3; c++ {
			h[r] += math.Abs(b.rot[r][c]) * b.h[c]
		}
	}
	return box{b.c.sub(h), b.c.add(h)}
}

// tubeNode is a point on a tube's centre curve with its cross-section:
// semi-axis ra across (perpendicular to up) and rz along up. A round tube
// has ra == rz and ignores up.
type tubeNode struct {
	p      vec3
	ra, rz float64
	up     vec3
}

// tube is a chain of segments between nodes; the cross-section is
// interpolated linearly along each segment. It stands for the canals:
// the cochlear duct, semicircular canals, aqueducts, nerve canals.
type tube struct {
	n   []tubeNode
	seg []tubeSeg
	bb  box
	// bounding sphere: points farther than bsR from bsC are outside, and
	// their distance to the sphere is a lower bound of the true distance
	bsC vec3
	bsR float64
}

type tubeSeg struct {
	ab    vec3
	inv   float64 // 1/|ab|^2, 0 for a degenerate segment
	round bool
}

func newTube(nodes []tubeNode) *tube {
	t := &tube{n: nodes, bb: emptyBox()}
	for _, n := range nodes {
		r := math.Max(n.ra, n.rz)
		t.bb = t.bb.union(box{n.p, n.p}.pad(r))
	}
	for i := 0; i+1 < len(nodes); i++ {
		ab := nodes[i+1].p.sub(nodes[i].p)
		l2 := ab.dot(ab)
		sg := tubeSeg{ab: ab, round: nodes[i].ra == nodes[i].rz && nodes[i+1].ra == nodes[i+1].rz}
		if l2 > 0 {
			sg.inv = 1 / l2
		}
		t.seg = append(t.seg, sg)
	}
	t.bsC = t.bb.lo.lerp(t.bb.hi, 0.5)
	for _, n := range nodes {
		t.bsR = math.Max(t.bsR, n.p.sub(t.bsC).norm()+math.Max(n.ra, n.rz))
	}
	return t
}

func (t *tube) bounds() box { return t.bb }

func (t *tube) sdf(p vec3) float64 {
	if lb := p.sub(t.bsC).norm() - t.bsR; lb > 0 {
		return lb
	}
	best := math.Inf(1)
	for i := range t.seg {
		a, b, sg := &t.n[i], &t.n[i+1], &t.seg[i]
		ap := p.sub(a.p)
		s := ap.dot(sg.ab) * sg.inv
		if s < 0 {
			s = 0
		} else if s > 1 {
			s = 1
		}
		o := ap.sub(sg.ab.scale(s))
		ra := a.ra + s*(b.ra-a.ra)
		on := o.norm()
		var d float64
		if sg.round {
			d = on - ra
		} else if on-math.Max(ra, a.rz+s*(b.rz-a.rz)) >= best {
			// the section lies within a circle of its larger semi-axis:
			// this segment cannot come closer than the best so far
			continue
		} else {
			rz := a.rz + s*(b.rz-a.rz)
			up := a.up.lerp(b.up, s).unit()
			oz := o.dot(up)
			or := o.sub(up.scale(oz)).norm()
			d = ellipse2(or, oz, ra, rz)
		}
		if d < best {
			best = d
		}
	}
	return best
}

// ellipse2 is an approximate signed distance to an ellipse with semi-axes
// a (x) and b (y), the same bound the ellipsoid uses.
func ellipse2(x, y, a, b float64) float64 {
	k0 := math.Hypot(x/a, y/b)
	k1 := math.Hypot(x/(a*a), y/(b*b))
	if k1 == 0 {
		return -math.Min(a, b)
	}
	return k0 * (k0 - 1) / k1
}

// splitTube cuts a long node chain into tubes of at most per segments that
// overlap by one node, so each piece has a tight bounding box for culling.
func splitTube(nodes []tubeNode, per int) []*tube {
	var out []*tube
	for i := 0; i+1 < len(nodes); i += per {
		j := i + per + 1
		if j > len(nodes) {
			j = len(nodes)
		}
		out = append(out, newTube(nodes[i:j]))
	}
	return out
}

// diff is a minus b; inter is the intersection of a and b.
type diff struct{ a, b shape }

func (d diff) sdf(p vec3) float64 { return math.Max(d.a.sdf(p), -d.b.sdf(p)) }
func (d diff) bounds() box        { return d.a.bounds() }

type inter struct{ a, b shape }

func (d inter) sdf(p vec3) float64 { return math.Max(d.a.sdf(p), d.b.sdf(p)) }
func (d inter) bounds() box {
	a, b := d.a.bounds(), d.b.bounds()
	for i := 0; i < 3; i++ {
		a.lo[i] = math.Max(a.lo[i], b.lo[i])
		a.hi[i] = math.Min(a.hi[i], b.hi[i])
	}
	return a
}

// halfspace is {p : (p-c)·n <= 0}, unbounded; only used inside inter/diff.
type halfspace struct{ c, n vec3 }

func (h halfspace) sdf(p vec3) float64 { return p.sub(h.c).dot(h.n) }
func (h halfspace) bounds() box {
	inf := math.Inf(1)
	return box{vec3{-inf, -inf, -inf}, vec3{inf, inf, inf}}
}
