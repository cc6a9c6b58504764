package mesh

// The marching-cubes case table is built from first principles rather than
// copied: for each of the 256 inside/outside patterns of a cube's corners,
// the iso-contour is traced on each of the six faces, the face segments are
// joined into closed loops and each loop is fanned into triangles.
//
// Ambiguous faces (two diagonal corners inside, two outside) are always
// resolved the same way, by cutting off each inside corner on its own. The
// decision depends only on the four corners of the face, so the two cubes
// that share a face cut it identically and the surface has no cracks; it
// also means inside voxels that touch only along an edge get separate
// surfaces (6-connected foreground), the natural reading of a label map.

// Corner c of the unit cube is at (c&1, (c>>1)&1, (c>>2)&1).
func cornerPos(c int) [3]int { return [3]int{c & 1, (c >> 1) & 1, (c >> 2) & 1} }

// cubeEdges lists the 12 cube edges as corner pairs, the lower corner first;
// edges 0-3 run along x, 4-7 along y, 8-11 along z.
var cubeEdges = func() [12][2]int {
	var e [12][2]int
	n := 0
	for axis := 0; axis < 3; axis++ {
		bit := 1 << axis
		for c := 0; c < 8; c++ {
			if c&bit == 0 {
				e[n] = [2]int{c, c | bit}
				n++
			}
		}
	}
	return e
}()

// edgeIndex returns the cube edge joining corners a and b.
func edgeIndex(a, b int) int {
	if a > b {
		a, b = b, a
	}
	for i, e := range cubeEdges {
		if e == [2]int{a, b} {
			return i
		}
	}
	panic("mesh: corners are not adjacent") // unreachable: only called on face neighbours
}

// cubeFaces lists each face's corners in cyclic order and its outward normal.
var cubeFaces = func() [6]struct {
	corners [4]int
	normal  [3]int
} {
	var f [6]struct {
		corners [4]int
		normal  [3]int
	}
	n := 0
	for axis := 0; axis < 3; axis++ {
		u, v := 1<<((axis+1)%3), 1<<((axis+2)%3)
		for side := 0; side < 2; side++ {
			base := side << axis
			f[n].corners = [4]int{base, base | u, base | u | v, base | v}
			f[n].normal[axis] = 2*side - 1
			n++
		}
	}
	return f
}()

// caseTable[config] lists triangles as triples of cube edges, where bit c of
// config is set when corner c is inside (value > level). Triangles wind
// counter-clockwise seen from outside, so normals point out of the inside
// region.
var caseTable = buildCaseTable()

func buildCaseTable() [256][]int8 {
	var table [256][]int8
	mid := func(e int) [3]float64 {
		a, b := cornerPos(cubeEdges[e][0]), cornerPos(cubeEdges[e][1])
		return [3]float64{float64(a[0]+b[0]) / 2, float64(a[1]+b[1]) / 2, float64(a[2]+b[2]) / 2}
	}
	for config := 0; config < 256; config++ {
		in := func(c int) bool { return config&(1<<c) != 0 }
		next := [12]int{}
		for i := range next {
			next[i] = -1
		}
		for _, f := range cubeFaces {
			c := f.corners
			// crossings on this face, in cyclic order, with the edge after corner q
			var cross []int
			for q := 0; q < 4; q++ {
				if in(c[q]) != in(c[(q+1)%4]) {
					cross = append(cross, q)
				}
			}
			var segs [][3]int // edge p, edge q, inside corner on its side
			edgeAfter := func(q int) int { return edgeIndex(c[q], c[(q+1)%4]) }
			switch len(cross) {
			case 2:
				inside := -1
				for q := 0; q < 4; q++ {
					if in(c[q]) {
						inside = c[q]
					}
				}
				segs = append(segs, [3]int{edgeAfter(cross[0]), edgeAfter(cross[1]), inside})
			case 4:
				// Diagonal pattern: cut off each inside corner separately.
				for q := 0; q < 4; q++ {
					if in(c[q]) {
						segs = append(segs, [3]int{edgeAfter((q + 3) % 4), edgeAfter(q), c[q]})
					}
				}
			}
			for _, s := range segs {
				p, q := s[0], s[1]
				pp, qq, cc := mid(p), mid(q), cornerPos(s[2])
				d := sub(qq, pp)
				w := sub([3]float64{float64(cc[0]), float64(cc[1]), float64(cc[2])}, pp)
				x := cross3(d, w)
				dot := x[0]*float64(f.normal[0]) + x[1]*float64(f.normal[1]) + x[2]*float64(f.normal[2])
				if dot > 0 {
					p, q = q, p
				}
				next[p] = q
			}
		}
		var tris []int8
		done := [12]bool{}
		for start := 0; start < 12; start++ {
			if next[start] < 0 || done[start] {
				continue
			}
			var loop []int
			for e := start; !done[e]; e = next[e] {
				done[e] = true
				loop = append(loop, e)
			}
			for i := 1; i+1 < len(loop); i++ {
				tris = append(tris, int8(loop[0]), int8(loop[i]), int8(loop[i+1]))
			}
		}
		table[config] = tris
	}
	return table
}

func sub(a, b [3]float64) [3]float64 { return [3]float64{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }

func cross3(a, b [3]float64) [3]float64 {
	return [3]float64{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}
