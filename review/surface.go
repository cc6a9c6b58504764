package review

import (
	"encoding/binary"
	"math"
	"slices"

	"github.com/otoseg/otoseg/ear"
	"github.com/otoseg/otoseg/volume"
)

// Surface is a triangle mesh of a label map in LPS millimetres, with a label
// per vertex for colouring. It is what the 3-D view draws.
type Surface struct {
	Positions []float32 // x, y, z per vertex
	Indices   []uint32  // three per triangle, counter-clockwise seen from outside
	Labels    []uint8   // per vertex
	Factor    int       // downsampling factor used
}

// SurfaceGrid is the largest extent, in cells, of the grid the surface is
// built on: the label map's bounding box is downsampled to fit it, which
// keeps the mesh small enough to send (a few hundred kB) whatever the scan.
const SurfaceGrid = 96

const maxSurfaceIndices = 3 << 20

// BuildSurface extracts the boundary of the non-zero voxels of a label map
// as quads between labelled and background cells, split into triangles,
// then smooths the vertices with Taubin's lambda/mu filter so that the
// voxel staircase reads as an anatomical surface without shrinking it. The
// bounding box is downsampled (a cell takes the most frequent non-zero label
// of its block, so thin canals survive) to at most SurfaceGrid cells a side.
func BuildSurface(labels []uint8, g volume.Geometry) Surface {
	lo, hi, ok := labelBox(labels, g.Dims)
	if !ok {
		return Surface{Factor: 1}
	}
	return BuildSurfaceIn(labels, g, lo, hi)
}

// BuildSurfaceIn is BuildSurface restricted to the voxel box [lo, hi]
// (inclusive), e.g. one ear of a bilateral scan.
func BuildSurfaceIn(labels []uint8, g volume.Geometry, lo, hi [3]int) Surface {
	for a := 0; a < 3; a++ {
		lo[a], hi[a] = max(lo[a], 0), min(hi[a], g.Dims[a]-1)
		if hi[a] < lo[a] {
			return Surface{Factor: 1}
		}
	}
	ext := 0
	for a := 0; a < 3; a++ {
		ext = max(ext, hi[a]-lo[a]+1)
	}
	f := max(1, (ext+SurfaceGrid-1)/SurfaceGrid)
	for {
		s := buildSurface(labels, g, lo, hi, f)
		if len(s.Indices) <= maxSurfaceIndices {
			return s
		}
		f++
	}
}

// labelBox is the inclusive bounding box of non-zero voxels.
func labelBox(labels []uint8, dims [3]int) (lo, hi [3]int, ok bool) {
	lo = dims
	hi = [3]int{-1, -1, -1}
	p := 0
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			for i := 0; i < dims[0]; i++ {
				if labels[p] != 0 {
					lo[0], hi[0] = min(lo[0], i), max(hi[0], i)
					lo[1], hi[1] = min(lo[1], j), max(hi[1], j)
					lo[2], hi[2] = min(lo[2], k), max(hi[2], k)
				}
				p++
			}
		}
	}
	return lo, hi, hi[0] >= 0
}

func buildSurface(labels []uint8, g volume.Geometry, lo, hi [3]int, f int) Surface {
	var n [3]int
	for a := 0; a < 3; a++ {
		n[a] = (hi[a]-lo[a])/f + 1
	}
	// Downsample the box: each cell takes its block's most frequent label.
	cells := make([]uint8, n[0]*n[1]*n[2])
	var counts [256]int
	for c := 0; c < n[2]; c++ {
		for b := 0; b < n[1]; b++ {
			for a := 0; a < n[0]; a++ {
				clear(counts[:])
				best, bestN := uint8(0), 0
				for k := lo[2] + c*f; k < min(lo[2]+(c+1)*f, hi[2]+1); k++ {
					for j := lo[1] + b*f; j < min(lo[1]+(b+1)*f, hi[1]+1); j++ {
						row := g.Dims[0] * (j + g.Dims[1]*k)
						for i := lo[0] + a*f; i < min(lo[0]+(a+1)*f, hi[0]+1); i++ {
							if l := labels[row+i]; l != 0 {
								counts[l]++
								if counts[l] > bestN {
									best, bestN = l, counts[l]
								}
							}
						}
					}
				}
				cells[a+n[0]*(b+n[1]*c)] = best
			}
		}
	}
	at := func(a, b, c int) uint8 {
		if a < 0 || b < 0 || c < 0 || a >= n[0] || b >= n[1] || c >= n[2] {
			return 0
		}
		return cells[a+n[0]*(b+n[1]*c)]
	}
	// Lattice points (cell corners) become vertices on first use.
	ln := [3]int{n[0] + 1, n[1] + 1, n[2] + 1}
	vid := make([]int32, ln[0]*ln[1]*ln[2])
	for i := range vid {
		vid[i] = -1
	}
	var pos [][3]float64
	var vlab []uint8
	vertex := func(p [3]int, l uint8) uint32 {
		key := p[0] + ln[0]*(p[1]+ln[1]*p[2])
		if vid[key] < 0 {
			vid[key] = int32(len(pos))
			pos = append(pos, [3]float64{float64(p[0]), float64(p[1]), float64(p[2])})
			vlab = append(vlab, l)
		}
		return uint32(vid[key])
	}
	var quads [][4]uint32
	for c := 0; c < n[2]; c++ {
		for b := 0; b < n[1]; b++ {
			for a := 0; a < n[0]; a++ {
				l := cells[a+n[0]*(b+n[1]*c)]
				if l == 0 {
					continue
				}
				cell := [3]int{a, b, c}
				for d := 0; d < 3; d++ {
					for _, s := range [2]int{-1, 1} {
						nb := cell
						nb[d] += s
						if at(nb[0], nb[1], nb[2]) != 0 {
							continue
						}
						u, w := (d+1)%3, (d+2)%3
						base := cell
						if s > 0 {
							base[d]++
						}
						p0 := base
						p1 := base
						p1[u]++
						p2 := p1
						p2[w]++
						p3 := base
						p3[w]++
						q := [4]uint32{vertex(p0, l), vertex(p1, l), vertex(p2, l), vertex(p3, l)}
						if s < 0 {
							q[1], q[3] = q[3], q[1]
						}
						quads = append(quads, q)
					}
				}
			}
		}
	}
	taubin(pos, quads, 12)
	// Lattice point p sits at voxel index lo + f*p - 0.5 (a cell's corner).
	reverse := det3(g.Direction) < 0
	s := Surface{Factor: f, Labels: vlab, Positions: make([]float32, 0, 3*len(pos)), Indices: make([]uint32, 0, 6*len(quads))}
	for _, p := range pos {
		w := g.World(float64(lo[0])+float64(f)*p[0]-0.5, float64(lo[1])+float64(f)*p[1]-0.5, float64(lo[2])+float64(f)*p[2]-0.5)
		s.Positions = append(s.Positions, float32(w[0]), float32(w[1]), float32(w[2]))
	}
	for _, q := range quads {
		if reverse {
			q[1], q[3] = q[3], q[1]
		}
		s.Indices = append(s.Indices, q[0], q[1], q[2], q[0], q[2], q[3])
	}
	return s
}

// taubin smooths vertex positions in place over the quad mesh's edges:
// alternating a shrinking (lambda) and an inflating (mu) Laplacian step
// removes the voxel staircase while keeping the volume.
func taubin(pos [][3]float64, quads [][4]uint32, iters int) {
	nv := len(pos)
	if nv == 0 {
		return
	}
	deg := make([]int32, nv+1)
	for _, q := range quads {
		for e := 0; e < 4; e++ {
			deg[q[e]+1]++
			deg[q[(e+1)%4]+1]++
		}
	}
	for i := 1; i <= nv; i++ {
		deg[i] += deg[i-1]
	}
	adj := make([]uint32, deg[nv])
	fill := make([]int32, nv)
	for _, q := range quads {
		for e := 0; e < 4; e++ {
			a, b := q[e], q[(e+1)%4]
			adj[deg[a]+fill[a]] = b
			fill[a]++
			adj[deg[b]+fill[b]] = a
			fill[b]++
		}
	}
	next := make([][3]float64, nv)
	step := func(factor float64) {
		for v := 0; v < nv; v++ {
			var m [3]float64
			nb := adj[deg[v]:deg[v+1]]
			for _, u := range nb {
				for c := 0; c < 3; c++ {
					m[c] += pos[u][c]
				}
			}
			for c := 0; c < 3; c++ {
				next[v][c] = pos[v][c] + factor*(m[c]/float64(len(nb))-pos[v][c])
			}
		}
		copy(pos, next)
	}
	for i := 0; i < iters; i++ {
		step(0.5)
		step(-0.53)
	}
}

func det3(m [3][3]float64) float64 {
	return m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) -
		m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) +
		m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
}

// Encode writes the surface in the binary form the browser reads:
// "OSF1", vertex count and index count as little-endian uint32, then the
// float32 positions, the uint32 indices and the uint8 labels.
func (s Surface) Encode() []byte {
	nv, ni := len(s.Labels), len(s.Indices)
	out := make([]byte, 12+12*nv+4*ni+nv)
	copy(out, "OSF1")
	binary.LittleEndian.PutUint32(out[4:], uint32(nv))
	binary.LittleEndian.PutUint32(out[8:], uint32(ni))
	p := 12
	for _, x := range s.Positions {
		binary.LittleEndian.PutUint32(out[p:], math.Float32bits(x))
		p += 4
	}
	for _, x := range s.Indices {
		binary.LittleEndian.PutUint32(out[p:], x)
		p += 4
	}
	copy(out[p:], s.Labels)
	return out
}

// EarGapMM separates the two ears: labelled voxels further apart than this
// along the patient's left-right axis belong to different ears. It is the
// gap training and evaluation use (ear.EarGapMM).
const EarGapMM = ear.EarGapMM

// Ear is one inner ear of a label map: the centre of its labelled voxels'
// box in canonical coordinates (see Frame), and the box in voxel indices.
type Ear struct {
	Centre [3]int
	Lo, Hi [3]int // voxel index box, inclusive
	Voxels int
}

// Ears finds the ears of a label map, the one with more labelled voxels
// first. A bilateral scan has two; the labels of one ear, or labels that
// are not separated by EarGapMM left to right, give one; an empty map none.
func Ears(labels []uint8, g volume.Geometry, f Frame) []Ear {
	n := f.Dims[0]
	count := make([]int, n)
	var pts [][3]int32
	p := 0
	for k := 0; k < g.Dims[2]; k++ {
		for j := 0; j < g.Dims[1]; j++ {
			for i := 0; i < g.Dims[0]; i++ {
				if labels[p] != 0 {
					c := f.Canonical([3]int{i, j, k})
					count[c[0]]++
					pts = append(pts, [3]int32{int32(c[0]), int32(c[1]), int32(c[2])})
				}
				p++
			}
		}
	}
	if len(pts) == 0 {
		return nil
	}
	// Group left-right columns into runs separated by gaps of EarGapMM.
	gap := max(1, int(EarGapMM/f.Spacing[0]))
	type group struct {
		x0, x1 int
		n      int
		lo, hi [3]int32
	}
	var groups []*group
	last := -gap - 1
	for x := 0; x < n; x++ {
		if count[x] == 0 {
			continue
		}
		if len(groups) == 0 || x-last > gap {
			groups = append(groups, &group{x0: x})
		}
		gr := groups[len(groups)-1]
		gr.x1 = x
		gr.n += count[x]
		last = x
	}
	for _, gr := range groups {
		gr.lo = [3]int32{math.MaxInt32, math.MaxInt32, math.MaxInt32}
		gr.hi = [3]int32{-1, -1, -1}
	}
	for _, q := range pts {
		for _, gr := range groups {
			if int(q[0]) >= gr.x0 && int(q[0]) <= gr.x1 {
				for d := 0; d < 3; d++ {
					gr.lo[d], gr.hi[d] = min(gr.lo[d], q[d]), max(gr.hi[d], q[d])
				}
				break
			}
		}
	}
	slices.SortStableFunc(groups, func(a, b *group) int { return b.n - a.n })
	out := make([]Ear, len(groups))
	for i, gr := range groups {
		var clo, chi [3]int
		for d := 0; d < 3; d++ {
			out[i].Centre[d] = int(gr.lo[d]+gr.hi[d]) / 2
			clo[d], chi[d] = int(gr.lo[d]), int(gr.hi[d])
		}
		// canonical box corners back to voxel indices
		a, b := f.Voxel(clo), f.Voxel(chi)
		for d := 0; d < 3; d++ {
			out[i].Lo[d], out[i].Hi[d] = min(a[d], b[d]), max(a[d], b[d])
		}
		out[i].Voxels = gr.n
	}
	return out
}
