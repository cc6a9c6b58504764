package phantom

import (
	"math"
	"sort"

	"github.com/otoseg/otoseg/ear"

	"github.com/otoseg/otoseg/volume"
)

// Measurements made on label maps, independent of the generator's own
// parameters, so the tests check what a reader of the files would see.

// mask returns voxels whose label is in want.
func mask(lab *volume.Volume, want ...int) []bool {
	m := make([]bool, len(lab.Data))
	for i, v := range lab.Data {
		for _, w := range want {
			if int(v) == w {
				m[i] = true
			}
		}
	}
	return m
}

// topology returns the number of 26-connected components, cavities
// (enclosed 6-connected background components) and tunnels (handles) of a
// binary mask, from its Euler characteristic χ = components - tunnels +
// cavities computed on the complex of closed voxel cubes.
func topology(m []bool, d [3]int) (comps, cavities, tunnels, chi int) {
	at := func(i, j, k int) bool {
		if i < 0 || j < 0 || k < 0 || i >= d[0] || j >= d[1] || k >= d[2] {
			return false
		}
		return m[i+d[0]*(j+d[1]*k)]
	}
	// count cells of the cubical complex: a cell at lattice position with
	// extent e (0 or 1 per axis) exists when any voxel touching it is set
	var V, E, F, C int
	for k := -1; k <= d[2]; k++ {
		for j := -1; j <= d[1]; j++ {
			for i := -1; i <= d[0]; i++ {
				// voxel (i,j,k) owns the vertex at its high corner (i+1,j+1,k+1),
				// edges and faces leaving that corner towards +; a cell is
				// present if any adjacent voxel is set
				any := func(di, dj, dk [2]int) bool {
					for a := di[0]; a <= di[1]; a++ {
						for b := dj[0]; b <= dj[1]; b++ {
							for c := dk[0]; c <= dk[1]; c++ {
								if at(i+a, j+b, k+c) {
									return true
								}
							}
						}
					}
					return false
				}
				// vertex at corner between voxels i..i+1, j..j+1, k..k+1
				if any([2]int{0, 1}, [2]int{0, 1}, [2]int{0, 1}) {
					V++
				}
				// edges along x (voxel i+1 column), y, z
				if any([2]int{1, 1}, [2]int{0, 1}, [2]int{0, 1}) {
					E++
				}
				if any([2]int{0, 1}, [2]int{1, 1}, [2]int{0, 1}) {
					E++
				}
				if any([2]int{0, 1}, [2]int{0, 1}, [2]int{1, 1}) {
					E++
				}
				// faces normal to x, y, z
				if any([2]int{0, 1}, [2]int{1, 1}, [2]int{1, 1}) {
					F++
				}
				if any([2]int{1, 1}, [2]int{0, 1}, [2]int{1, 1}) {
					F++
				}
				if any([2]int{1, 1}, [2]int{1, 1}, [2]int{0, 1}) {
					F++
				}
				if at(i+1, j+1, k+1) {
					C++
				}
			}
		}
	}
	chi = V - E + F - C
	comps = countComponents(m, d, true)
	// background with a one-voxel margin, 6-connected
	pd := [3]int{d[0] + 2, d[1] + 2, d[2] + 2}
	bg := make([]bool, pd[0]*pd[1]*pd[2])
	for k := 0; k < pd[2]; k++ {
		for j := 0; j < pd[1]; j++ {
			for i := 0; i < pd[0]; i++ {
				bg[i+pd[0]*(j+pd[1]*k)] = !at(i-1, j-1, k-1)
			}
		}
	}
	cavities = countComponents(bg, pd, false) - 1
	tunnels = comps + cavities - chi
	return
}

// countComponents counts connected components (26- or 6-connectivity).
func countComponents(m []bool, d [3]int, conn26 bool) int {
	seen := make([]bool, len(m))
	var stack []int
	n := 0
	for start := range m {
		if !m[start] || seen[start] {
			continue
		}
		n++
		seen[start] = true
		stack = append(stack[:0], start)
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			i, j, k := p%d[0], (p/d[0])%d[1], p/(d[0]*d[1])
			for dk := -1; dk <= 1; dk++ {
				for dj := -1; dj <= 1; dj++ {
					for di := -1; di <= 1; di++ {
						nz := di*di + dj*dj + dk*dk
						if nz == 0 || (!conn26 && nz > 1) {
							continue
						}
						ii, jj, kk := i+di, j+dj, k+dk
						if ii < 0 || jj < 0 || kk < 0 || ii >= d[0] || jj >= d[1] || kk >= d[2] {
							continue
						}
						q := ii + d[0]*(jj+d[1]*kk)
						if m[q] && !seen[q] {
							seen[q] = true
							stack = append(stack, q)
						}
					}
				}
			}
		}
	}
	return n
}

// points returns the world positions of voxels with label l.
func points(lab *volume.Volume, l int) []vec3 {
	var out []vec3
	for k := 0; k < lab.Dims[2]; k++ {
		for j := 0; j < lab.Dims[1]; j++ {
			for i := 0; i < lab.Dims[0]; i++ {
				if int(lab.Data[lab.Index(i, j, k)]) == l {
					out = append(out, lab.World(float64(i), float64(j), float64(k)))
				}
			}
		}
	}
	return out
}

// basis returns two unit vectors perpendicular to n.
func basis(n vec3) (vec3, vec3) {
	a := vec3{1, 0, 0}
	if math.Abs(n[0]) > 0.8 {
		a = vec3{0, 1, 0}
	}
	u := a.sub(n.scale(a.dot(n))).unit()
	return u, n.cross(u)
}

// feret is the largest distance between two points of the projection of
// pts onto the plane normal to axis (convex hull, then all hull pairs).
func feret(pts []vec3, axis vec3) float64 {
	u, v := basis(axis.unit())
	p2 := make([][2]float64, len(pts))
	for i, p := range pts {
		p2[i] = [2]float64{p.dot(u), p.dot(v)}
	}
	h := hull(p2)
	var best float64
	for i := range h {
		for j := i + 1; j < len(h); j++ {
			best = math.Max(best, math.Hypot(h[i][0]-h[j][0], h[i][1]-h[j][1]))
		}
	}
	return best
}

func hull(p [][2]float64) [][2]float64 {
	sort.Slice(p, func(i, j int) bool {
		if p[i][0] != p[j][0] {
			return p[i][0] < p[j][0]
		}
		return p[i][1] < p[j][1]
	})
	cross := func(o, a, b [2]float64) float64 {
		return (a[0]-o[0])*(b[1]-o[1]) - (a[1]-o[1])*(b[0]-o[0])
	}
	var h [][2]float64
	for _, q := range p {
		for len(h) >= 2 && cross(h[len(h)-2], h[len(h)-1], q) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, q)
	}
	lo := len(h) + 1
	for i := len(p) - 2; i >= 0; i-- {
		q := p[i]
		for len(h) >= lo && cross(h[len(h)-2], h[len(h)-1], q) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, q)
	}
	return h
}

// turnsFromLabel counts the cochlear turns on the label: a half-plane
// through the modiolar axis at angle φ cuts the duct once per turn that
// passes φ, so the mean number of separate cross-sections over φ is the
// number of turns.
func turnsFromLabel(lab *volume.Volume, centre, axis vec3) float64 {
	axis = axis.unit()
	u, v := basis(axis)
	step := 0.04
	ns, nh := int(math.Round(6.5/step)), int(math.Round(9/step))
	var total float64
	const nphi = 72
	for a := 0; a < nphi; a++ {
		phi := 2 * math.Pi * (float64(a) + 0.5) / nphi
		dir := u.scale(math.Cos(phi)).add(v.scale(math.Sin(phi)))
		m := make([]bool, ns*nh)
		for y := 0; y < nh; y++ {
			for x := 0; x < ns; x++ {
				p := centre.add(dir.scale(float64(x) * step)).add(axis.scale(float64(y)*step - 4.5))
				ci := lab.ContinuousIndex(p)
				i, j, k := int(math.Round(ci[0])), int(math.Round(ci[1])), int(math.Round(ci[2]))
				if i < 0 || j < 0 || k < 0 || i >= lab.Dims[0] || j >= lab.Dims[1] || k >= lab.Dims[2] {
					continue
				}
				m[x+ns*y] = lab.At(i, j, k) == float32(ear.Cochlea)
			}
		}
		// 8-connected: nearest-voxel sampling leaves diagonal steps; a
		// single voxel cut at a corner is not a turn
		total += float64(countBlobs(m, ns, nh, 20))
	}
	return total / nphi
}

// canalRadius fits a circle to the canal-labelled voxels near a canal's
// plane (within 0.5 mm) and annulus around its centre, dropping outliers.
func canalRadius(lab *volume.Volume, centre, normal vec3, rGuess float64) (r float64, n int) {
	normal = normal.unit()
	u, v := basis(normal)
	var pts [][2]float64
	for _, p := range points(lab, int(ear.Canals)) {
		d := p.sub(centre)
		if math.Abs(d.dot(normal)) > 0.5 {
			continue
		}
		x, y := d.dot(u), d.dot(v)
		if rr := math.Hypot(x, y); rr < 0.5*rGuess || rr > 1.6*rGuess {
			continue
		}
		pts = append(pts, [2]float64{x, y})
	}
	var cx, cy float64
	for it := 0; it < 3; it++ {
		cx, cy, r = kasa(pts)
		var keep [][2]float64
		for _, p := range pts {
			if math.Abs(math.Hypot(p[0]-cx, p[1]-cy)-r) < 0.7 {
				keep = append(keep, p)
			}
		}
		pts = keep
	}
	return r, len(pts)
}

// kasa is the algebraic least-squares circle fit.
func kasa(p [][2]float64) (cx, cy, r float64) {
	var sx, sy, sxx, syy, sxy, sxz, syz, sz float64
	n := float64(len(p))
	for _, q := range p {
		x, y := q[0], q[1]
		z := x*x + y*y
		sx += x
		sy += y
		sxx += x * x
		syy += y * y
		sxy += x * y
		sxz += x * z
		syz += y * z
		sz += z
	}
	// solve [sxx sxy sx; sxy syy sy; sx sy n] [a b c] = [sxz syz sz]
	m := [3][4]float64{{sxx, sxy, sx, sxz}, {sxy, syy, sy, syz}, {sx, sy, n, sz}}
	for c := 0; c < 3; c++ {
		piv := c
		for r := c + 1; r < 3; r++ {
			if math.Abs(m[r][c]) > math.Abs(m[piv][c]) {
				piv = r
			}
		}
		m[c], m[piv] = m[piv], m[c]
		if m[c][c] == 0 {
			return 0, 0, 0
		}
		for r := 0; r < 3; r++ {
			if r == c {
				continue
			}
			f := m[r][c] / m[c][c]
			for k := c; k < 4; k++ {
				m[r][k] -= f * m[c][k]
			}
		}
	}
	a, b, c := m[0][3]/m[0][0], m[1][3]/m[1][1], m[2][3]/m[2][2]
	cx, cy = a/2, b/2
	return cx, cy, math.Sqrt(c + cx*cx + cy*cy)
}

// countBlobs counts 8-connected components of a 2-D mask with at least
// minSize pixels.
func countBlobs(m []bool, w, h, minSize int) int {
	seen := make([]bool, len(m))
	n := 0
	var stack []int
	for s := range m {
		if !m[s] || seen[s] {
			continue
		}
		size := 0
		seen[s] = true
		stack = append(stack[:0], s)
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			size++
			x, y := p%w, p/w
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					xx, yy := x+dx, y+dy
					if xx < 0 || yy < 0 || xx >= w || yy >= h {
						continue
					}
					q := xx + w*yy
					if m[q] && !seen[q] {
						seen[q] = true
						stack = append(stack, q)
					}
				}
			}
		}
		if size >= minSize {
			n++
		}
	}
	return n
}
