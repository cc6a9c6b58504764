// Package mesh turns a volume into a triangle surface and works with it:
// marching cubes on a scalar field or a label, vertex welding, Laplacian
// and Taubin smoothing, area and enclosed volume, and writers for binary
// STL, binary PLY, OBJ and a compact binary/JSON form for the review app;
// LabelSurface gives one surface of a whole label map, labelled per vertex.
//
// Meshes are in the volume's world space: LPS millimetres (x to the
// patient's Left, y Posterior, z Superior), the coordinates 3D Slicer
// writes to STL/OBJ by default. ToRAS converts for RAS tools. Triangles wind
// counter-clockwise seen from outside, so normals point out of the object.
package mesh

import (
	"fmt"
	"math"

	"github.com/otoseg/otoseg/volume"
)

// Mesh is an indexed triangle mesh, compact enough to send to a browser as
// is: Vertices holds x, y, z per vertex (LPS mm), Triangles holds three
// vertex indices per triangle. Labels, when not nil, holds one label per
// vertex: which label of a label map the vertex bounds (LabelSurface), so
// that a viewer can colour one surface of several structures; STL, PLY and
// OBJ leave it out.
type Mesh struct {
	Vertices  []float32 `json:"vertices"`
	Triangles []uint32  `json:"triangles"`
	Labels    []uint8   `json:"labels,omitempty"`
}

// NumVertices is the number of vertices.
func (m *Mesh) NumVertices() int { return len(m.Vertices) / 3 }

// NumTriangles is the number of triangles.
func (m *Mesh) NumTriangles() int { return len(m.Triangles) / 3 }

// Vertex returns vertex i as float64.
func (m *Mesh) Vertex(i uint32) [3]float64 {
	return [3]float64{float64(m.Vertices[3*i]), float64(m.Vertices[3*i+1]), float64(m.Vertices[3*i+2])}
}

// Options control MarchingCubes.
type Options struct {
	// Level is the iso-value; voxels with value > Level are inside.
	Level float32
	// Select, when set, turns the volume into a 0/1 field (1 where Select
	// is true) and Level is then 0.5: the surface of a label or a mask,
	// computed slice by slice without a copy of the volume.
	Select func(float32) bool
	// Closed pads the grid with one layer of Outside on every side, so an
	// object touching the edge of the volume still gets a closed surface.
	Closed bool
	// Outside is the value beyond the grid when Closed; it must be below
	// Level (with Select it is 0).
	Outside float32
}

// Label returns Options for the closed surface of the voxels equal to l.
func Label(l float32) Options {
	return Options{Select: func(x float32) bool { return x == l }, Closed: true}
}

// MarchingCubes extracts the iso-surface of v (Lorensen and Cline 1987)
// with vertices interpolated linearly along voxel edges and placed in world
// space through v's origin, spacing and direction. Vertices on shared edges
// are shared, so the mesh is indexed and, for a closed surface, watertight.
// It walks the volume two slices at a time; memory beyond the mesh is a few
// slices.
func MarchingCubes(v *volume.Volume, opt Options) (*Mesh, error) {
	if err := v.Check(); err != nil {
		return nil, fmt.Errorf("mesh: marching cubes: %w", err)
	}
	level, outside := opt.Level, opt.Outside
	if opt.Select != nil {
		level, outside = 0.5, 0
	}
	if opt.Closed && !(outside <= level) {
		return nil, fmt.Errorf("mesh: marching cubes: outside value %g must be below the level %g", outside, level)
	}
	if math.IsNaN(float64(level)) || math.IsInf(float64(level), 0) {
		return nil, fmt.Errorf("mesh: marching cubes: level %g", level)
	}
	nx, ny, nz := v.Dims[0], v.Dims[1], v.Dims[2]
	off := 0
	if opt.Closed {
		off = 1
	}
	gx, gy, gz := nx+2*off, ny+2*off, nz+2*off
	if gx < 2 || gy < 2 || gz < 2 {
		return &Mesh{}, nil // no cube fits
	}
	// fetch fills buf with logical slice kk (real slice kk-off) and marks,
	// per row, whether any and whether all of its values are inside, so
	// that cube rows with nothing to cross are skipped whole.
	fetch := func(kk int, buf []float32, anyIn, allIn []bool) {
		defer func() {
			for jj := 0; jj < gy; jj++ {
				a, l := false, true
				for _, x := range buf[jj*gx : (jj+1)*gx] {
					if x > level {
						a = true
					} else {
						l = false
					}
				}
				anyIn[jj], allIn[jj] = a, l
			}
		}()
		k := kk - off
		if k < 0 || k >= nz {
			for i := range buf {
				buf[i] = outside
			}
			return
		}
		for jj := 0; jj < gy; jj++ {
			row := buf[jj*gx : (jj+1)*gx]
			j := jj - off
			if j < 0 || j >= ny {
				for i := range row {
					row[i] = outside
				}
				continue
			}
			src := v.Data[(k*ny+j)*nx : (k*ny+j+1)*nx]
			if off == 1 {
				row[0], row[gx-1] = outside, outside
			}
			dst := row[off : off+nx]
			if opt.Select != nil {
				for i, x := range src {
					if opt.Select(x) {
						dst[i] = 1
					} else {
						dst[i] = 0
					}
				}
			} else {
				copy(dst, src)
			}
		}
	}
	// Voxel index to world: A = Direction * diag(Spacing); a negative
	// determinant mirrors space, and then triangles are wound the other way
	// to keep normals outward.
	var a [3][3]float64
	for r := 0; r < 3; r++ {
		for c := 0; c < 3; c++ {
			a[r][c] = v.Direction[r][c] * v.Spacing[c]
		}
	}
	flip := volume.Det3(a) < 0

	m := &Mesh{}
	addVertex := func(p [3]float64) int32 {
		for c := 0; c < 3; c++ {
			p[c] -= float64(off)
		}
		for r := 0; r < 3; r++ {
			w := v.Origin[r] + a[r][0]*p[0] + a[r][1]*p[1] + a[r][2]*p[2]
			m.Vertices = append(m.Vertices, float32(w))
		}
		return int32(len(m.Vertices)/3 - 1)
	}
	plane := gx * gy
	lo, hi := make([]float32, plane), make([]float32, plane)
	loAny, hiAny := make([]bool, gy), make([]bool, gy)
	loAll, hiAll := make([]bool, gy), make([]bool, gy)
	// Vertex ids of the edges crossed so far: x and y edges of the lower
	// and upper slice, z edges between them.
	xc := [2][]int32{make([]int32, plane), make([]int32, plane)}
	yc := [2][]int32{make([]int32, plane), make([]int32, plane)}
	zc := make([]int32, plane)
	reset := func(s []int32) {
		for i := range s {
			s[i] = -1
		}
	}
	reset(xc[0])
	reset(yc[0])
	fetch(0, lo, loAny, loAll)
	var ids [12]int32
	var vals [8]float32
	for k := 0; k < gz-1; k++ {
		fetch(k+1, hi, hiAny, hiAll)
		reset(xc[1])
		reset(yc[1])
		reset(zc)
		for j := 0; j < gy-1; j++ {
			if !(loAny[j] || loAny[j+1] || hiAny[j] || hiAny[j+1]) ||
				(loAll[j] && loAll[j+1] && hiAll[j] && hiAll[j+1]) {
				continue // every cube in this row is wholly outside or inside
			}
			for i := 0; i < gx-1; i++ {
				p := j*gx + i
				vals = [8]float32{lo[p], lo[p+1], lo[p+gx], lo[p+gx+1], hi[p], hi[p+1], hi[p+gx], hi[p+gx+1]}
				config := 0
				for c, x := range vals {
					if x > level {
						config |= 1 << c
					}
				}
				tris := caseTable[config]
				if len(tris) == 0 {
					continue
				}
				for e := range ids {
					ids[e] = -1
				}
				for _, e8 := range tris {
					e := int(e8)
					if ids[e] >= 0 {
						continue
					}
					c0, c1 := cubeEdges[e][0], cubeEdges[e][1]
					cp := cornerPos(c0)
					q := (j+cp[1])*gx + i + cp[0]
					var cache []int32
					axis := e / 4
					switch axis {
					case 0:
						cache = xc[cp[2]]
					case 1:
						cache = yc[cp[2]]
					default:
						cache = zc
					}
					id := cache[q]
					if id < 0 {
						va, vb := float64(vals[c0]), float64(vals[c1])
						t := (float64(level) - va) / (vb - va)
						pos := [3]float64{float64(i + cp[0]), float64(j + cp[1]), float64(k + cp[2])}
						pos[axis] += t
						id = addVertex(pos)
						if len(m.Vertices)/3 > math.MaxUint32 {
							return nil, fmt.Errorf("mesh: marching cubes: more than %d vertices", uint32(math.MaxUint32))
						}
						cache[q] = id
					}
					ids[e] = id
				}
				for t := 0; t < len(tris); t += 3 {
					a, b, c := ids[tris[t]], ids[tris[t+1]], ids[tris[t+2]]
					if flip {
						b, c = c, b
					}
					m.Triangles = append(m.Triangles, uint32(a), uint32(b), uint32(c))
				}
			}
		}
		lo, hi = hi, lo
		loAny, hiAny = hiAny, loAny
		loAll, hiAll = hiAll, loAll
		xc[0], xc[1] = xc[1], xc[0]
		yc[0], yc[1] = yc[1], yc[0]
	}
	return m, nil
}
