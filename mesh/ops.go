package mesh

import (
	"fmt"
	"math"
	"slices"
)

// Area is the total surface area in mm².
func (m *Mesh) Area() float64 {
	var s float64
	for t := 0; t+2 < len(m.Triangles); t += 3 {
		a, b, c := m.Vertex(m.Triangles[t]), m.Vertex(m.Triangles[t+1]), m.Vertex(m.Triangles[t+2])
		n := cross3(sub(b, a), sub(c, a))
		s += math.Sqrt(n[0]*n[0]+n[1]*n[1]+n[2]*n[2]) / 2
	}
	return s
}

// Volume is the signed volume in mm³ enclosed by the mesh (divergence
// theorem: the sum over triangles of a·(b×c)/6). It is positive for a closed
// mesh wound with outward normals and meaningless for an open one. Vertices
// are taken relative to their centroid to keep the sum well conditioned far
// from the origin.
func (m *Mesh) Volume() float64 {
	var o [3]float64
	n := m.NumVertices()
	if n == 0 {
		return 0
	}
	for i := 0; i < n; i++ {
		p := m.Vertex(uint32(i))
		for c := 0; c < 3; c++ {
			o[c] += p[c] / float64(n)
		}
	}
	var s float64
	for t := 0; t+2 < len(m.Triangles); t += 3 {
		a, b, c := sub(m.Vertex(m.Triangles[t]), o), sub(m.Vertex(m.Triangles[t+1]), o), sub(m.Vertex(m.Triangles[t+2]), o)
		x := cross3(b, c)
		s += a[0]*x[0] + a[1]*x[1] + a[2]*x[2]
	}
	return s / 6
}

// Bounds returns the smallest and largest vertex coordinates.
func (m *Mesh) Bounds() (lo, hi [3]float64) {
	lo = [3]float64{math.Inf(1), math.Inf(1), math.Inf(1)}
	hi = [3]float64{math.Inf(-1), math.Inf(-1), math.Inf(-1)}
	for i := 0; i < m.NumVertices(); i++ {
		p := m.Vertex(uint32(i))
		for c := 0; c < 3; c++ {
			lo[c], hi[c] = math.Min(lo[c], p[c]), math.Max(hi[c], p[c])
		}
	}
	return lo, hi
}

// Check reports triangles that name missing vertices, non-finite
// coordinates and labels that are not one per vertex.
func (m *Mesh) Check() error {
	if len(m.Vertices)%3 != 0 || len(m.Triangles)%3 != 0 {
		return fmt.Errorf("mesh: %d vertex and %d triangle values, want multiples of 3", len(m.Vertices), len(m.Triangles))
	}
	if m.Labels != nil && len(m.Labels) != m.NumVertices() {
		return fmt.Errorf("mesh: %d labels for %d vertices", len(m.Labels), m.NumVertices())
	}
	nv := uint32(m.NumVertices())
	for i, t := range m.Triangles {
		if t >= nv {
			return fmt.Errorf("mesh: triangle %d names vertex %d of %d", i/3, t, nv)
		}
	}
	for i, x := range m.Vertices {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("mesh: vertex %d has coordinate %g", i/3, x)
		}
	}
	return nil
}

// Topology summarises how the triangles fit together.
type Topology struct {
	Vertices, Edges, Triangles int
	// Boundary counts edges used by one triangle only (holes), NonManifold
	// edges used by more than two or twice in the same direction.
	Boundary, NonManifold int
	// Euler is V - E + F (2 per closed genus-0 surface).
	Euler int
}

// Closed reports a watertight, consistently oriented mesh.
func (t Topology) Closed() bool { return t.Boundary == 0 && t.NonManifold == 0 }

// Topology counts the mesh's edges by how many triangles use them, from
// the sorted list of directed edges. Unreferenced vertices are not counted.
func (m *Mesh) Topology() Topology {
	directed := make([]uint64, 0, len(m.Triangles))
	used := make([]bool, m.NumVertices())
	for t := 0; t+2 < len(m.Triangles); t += 3 {
		for e := 0; e < 3; e++ {
			a, b := m.Triangles[t+e], m.Triangles[t+(e+1)%3]
			used[a] = true
			directed = append(directed, uint64(a)<<32|uint64(b))
		}
	}
	slices.Sort(directed)
	var top Topology
	top.Triangles = m.NumTriangles()
	for _, u := range used {
		if u {
			top.Vertices++
		}
	}
	// Undirected edge (a<b): count forward (a->b) and backward (b->a) uses.
	type count struct{ fwd, back int }
	counts := map[uint64]*count{}
	for i, d := range directed {
		if i > 0 && directed[i-1] == d {
			top.NonManifold++ // same direction twice: flipped neighbour or fold
		}
		a, b := uint32(d>>32), uint32(d)
		key, fwd := uint64(a)<<32|uint64(b), true
		if a > b {
			key, fwd = uint64(b)<<32|uint64(a), false
		}
		c := counts[key]
		if c == nil {
			c = &count{}
			counts[key] = c
		}
		if fwd {
			c.fwd++
		} else {
			c.back++
		}
	}
	top.Edges = len(counts)
	for _, c := range counts {
		switch {
		case c.fwd+c.back == 1:
			top.Boundary++
		case c.fwd+c.back > 2:
			top.NonManifold++
		}
	}
	top.Euler = top.Vertices - top.Edges + top.Triangles
	return top
}

// Weld merges vertices closer than tol mm (on a grid of cell tol, so a pair
// straddling a cell boundary at distance just under tol may stay apart),
// drops triangles that collapse and vertices no longer used. Marching cubes
// output is already welded; this is for meshes joined from pieces or read
// from triangle soups such as STL. A merged vertex keeps the label of the
// first vertex merged into it.
func (m *Mesh) Weld(tol float64) *Mesh {
	if !(tol > 0) {
		tol = 1e-6
	}
	type key [3]int64
	ids := map[key]uint32{}
	remap := make([]uint32, m.NumVertices())
	out := &Mesh{}
	if m.Labels != nil {
		out.Labels = []uint8{}
	}
	for i := 0; i < m.NumVertices(); i++ {
		p := m.Vertex(uint32(i))
		k := key{int64(math.Round(p[0] / tol)), int64(math.Round(p[1] / tol)), int64(math.Round(p[2] / tol))}
		id, ok := ids[k]
		if !ok {
			id = uint32(out.NumVertices())
			ids[k] = id
			out.Vertices = append(out.Vertices, m.Vertices[3*i:3*i+3]...)
			if m.Labels != nil {
				out.Labels = append(out.Labels, m.Labels[i])
			}
		}
		remap[i] = id
	}
	for t := 0; t+2 < len(m.Triangles); t += 3 {
		a, b, c := remap[m.Triangles[t]], remap[m.Triangles[t+1]], remap[m.Triangles[t+2]]
		if a == b || b == c || a == c {
			continue
		}
		out.Triangles = append(out.Triangles, a, b, c)
	}
	return out.compact()
}

// compact drops vertices no triangle uses.
func (m *Mesh) compact() *Mesh {
	used := make([]int64, m.NumVertices())
	for i := range used {
		used[i] = -1
	}
	out := &Mesh{Triangles: make([]uint32, len(m.Triangles))}
	if m.Labels != nil {
		out.Labels = []uint8{}
	}
	for i, t := range m.Triangles {
		if used[t] < 0 {
			used[t] = int64(out.NumVertices())
			out.Vertices = append(out.Vertices, m.Vertices[3*t:3*t+3]...)
			if m.Labels != nil {
				out.Labels = append(out.Labels, m.Labels[t])
			}
		}
		out.Triangles[i] = uint32(used[t])
	}
	return out
}

// neighbours returns each vertex's distinct neighbours in CSR form.
func (m *Mesh) neighbours() (start []int, adj []uint32) {
	n := m.NumVertices()
	pairs := make([]uint64, 0, 2*len(m.Triangles))
	for t := 0; t+2 < len(m.Triangles); t += 3 {
		for e := 0; e < 3; e++ {
			a, b := m.Triangles[t+e], m.Triangles[t+(e+1)%3]
			pairs = append(pairs, uint64(a)<<32|uint64(b), uint64(b)<<32|uint64(a))
		}
	}
	slices.Sort(pairs)
	pairs = slices.Compact(pairs)
	start = make([]int, n+1)
	adj = make([]uint32, len(pairs))
	for i, p := range pairs {
		start[int(p>>32)+1]++
		adj[i] = uint32(p)
	}
	for i := 0; i < n; i++ {
		start[i+1] += start[i]
	}
	return start, adj
}

// Smooth moves each vertex towards the mean of its neighbours by lambda
// (0 < lambda <= 1), iterations times: plain Laplacian smoothing, which
// rounds off the voxel staircase but also shrinks the surface.
func (m *Mesh) Smooth(iterations int, lambda float64) {
	m.smooth(iterations, lambda, 0)
}

// Taubin smooths like Smooth but alternates a shrinking step (lambda > 0)
// with an inflating one (mu < -lambda), which removes the staircase while
// keeping the enclosed volume nearly unchanged (Taubin 1995). lambda 0.5 and
// mu -0.53 are good defaults.
func (m *Mesh) Taubin(iterations int, lambda, mu float64) {
	m.smooth(iterations, lambda, mu)
}

func (m *Mesh) smooth(iterations int, lambda, mu float64) {
	n := m.NumVertices()
	if n == 0 || iterations <= 0 {
		return
	}
	start, adj := m.neighbours()
	p := make([]float64, 3*n)
	q := make([]float64, 3*n)
	for i, x := range m.Vertices {
		p[i] = float64(x)
	}
	step := func(f float64) {
		for i := 0; i < n; i++ {
			deg := start[i+1] - start[i]
			if deg == 0 {
				copy(q[3*i:3*i+3], p[3*i:3*i+3])
				continue
			}
			var mean [3]float64
			for _, j := range adj[start[i]:start[i+1]] {
				for c := 0; c < 3; c++ {
					mean[c] += p[3*int(j)+c]
				}
			}
			for c := 0; c < 3; c++ {
				q[3*i+c] = p[3*i+c] + f*(mean[c]/float64(deg)-p[3*i+c])
			}
		}
		p, q = q, p
	}
	for it := 0; it < iterations; it++ {
		step(lambda)
		if mu != 0 {
			step(mu)
		}
	}
	for i := range m.Vertices {
		m.Vertices[i] = float32(p[i])
	}
}

// ToRAS returns a copy in RAS coordinates (x and y negated), for tools that
// expect NIfTI's world convention. Negating two axes is a rotation, so the
// winding stays outward.
func (m *Mesh) ToRAS() *Mesh {
	out := &Mesh{Vertices: make([]float32, len(m.Vertices)), Triangles: slices.Clone(m.Triangles), Labels: slices.Clone(m.Labels)}
	for i, x := range m.Vertices {
		if i%3 < 2 {
			x = -x
		}
		out.Vertices[i] = x
	}
	return out
}

// VertexNormals returns a unit normal per vertex (area-weighted mean of the
// adjacent triangles' normals), x, y, z per vertex, for shading in a viewer.
func (m *Mesh) VertexNormals() []float32 {
	acc := make([]float64, len(m.Vertices))
	for t := 0; t+2 < len(m.Triangles); t += 3 {
		ia, ib, ic := m.Triangles[t], m.Triangles[t+1], m.Triangles[t+2]
		a, b, c := m.Vertex(ia), m.Vertex(ib), m.Vertex(ic)
		n := cross3(sub(b, a), sub(c, a)) // length = 2*area: area weighting
		for _, v := range []uint32{ia, ib, ic} {
			for d := 0; d < 3; d++ {
				acc[3*int(v)+d] += n[d]
			}
		}
	}
	out := make([]float32, len(acc))
	for i := 0; i+2 < len(acc); i += 3 {
		l := math.Sqrt(acc[i]*acc[i] + acc[i+1]*acc[i+1] + acc[i+2]*acc[i+2])
		if l > 0 {
			for d := 0; d < 3; d++ {
				out[i+d] = float32(acc[i+d] / l)
			}
		}
	}
	return out
}
