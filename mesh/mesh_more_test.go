package mesh

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/volume"
)

func sortedVertices(m *Mesh) [][3]float64 {
	var out [][3]float64
	for i := 0; i < m.NumVertices(); i++ {
		p := m.Vertex(uint32(i))
		for c := range p {
			p[c] = math.Round(p[c]*1e3) / 1e3
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b [3]float64) int {
		for c := 0; c < 3; c++ {
			if a[c] != b[c] {
				if a[c] < b[c] {
					return -1
				}
				return 1
			}
		}
		return 0
	})
	return out
}

// The mesh lives in world space: flipping or reorienting the voxel grid
// (which keeps world positions) must give the same surface, with outward
// normals even when the direction matrix mirrors space.
func TestMeshIsInWorldSpace(t *testing.T) {
	g := volume.Geometry{Dims: [3]int{20, 18, 16}, Spacing: [3]float64{0.4, 0.5, 0.7},
		Origin: [3]float64{-3, 8, 40}, Direction: rot(10, 25, -40)}
	v := binarize(field(g, ellipsoid(3, 3.5, 4)), 0)
	ref, err := MarchingCubes(v, Label(1))
	if err != nil {
		t.Fatal(err)
	}
	refV := sortedVertices(ref)
	flipped, _ := volume.Flip(v, 1)
	ras, _ := volume.Reorient(v, "RAS")
	for name, w := range map[string]*volume.Volume{"flip": flipped, "RAS": ras} {
		m, err := MarchingCubes(w, Label(1))
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(m.Volume()-ref.Volume()) > 1e-3 || math.Abs(m.Area()-ref.Area()) > 1e-3 {
			t.Errorf("%s: volume %g area %g, original %g %g", name, m.Volume(), m.Area(), ref.Volume(), ref.Area())
		}
		if m.Volume() <= 0 {
			t.Errorf("%s: normals point inwards", name)
		}
		if got := sortedVertices(m); !slices.Equal(got, refV) {
			t.Errorf("%s: vertices moved", name)
		}
	}
	// Vertices sit where the volume's geometry says: the mesh centroid is
	// the world position of the ellipsoid centre (the grid centre).
	c := g.World(float64(g.Dims[0]-1)/2, float64(g.Dims[1]-1)/2, float64(g.Dims[2]-1)/2)
	lo, hi := ref.Bounds()
	for r := 0; r < 3; r++ {
		if mid := (lo[r] + hi[r]) / 2; math.Abs(mid-c[r]) > 0.5 {
			t.Errorf("axis %d: mesh centre %g, volume centre %g", r, mid, c[r])
		}
	}
	// RAS copy: x and y negated, volume unchanged
	r := ref.ToRAS()
	if r.Vertices[0] != -ref.Vertices[0] || r.Vertices[2] != ref.Vertices[2] || math.Abs(r.Volume()-ref.Volume()) > 1e-6 {
		t.Error("ToRAS")
	}
}

func TestLabelSelectsOneLabel(t *testing.T) {
	g := volume.NewGeometry([3]int{20, 12, 12}, [3]float64{1, 1, 1})
	v := volume.New(g, volume.Uint8)
	for k := 2; k < 6; k++ {
		for j := 2; j < 6; j++ {
			for i := 2; i < 6; i++ {
				v.Set(i, j, k, 1)
				v.Set(i+8, j, k, 2)
			}
		}
	}
	v.Set(19, 11, 11, 2) // touches the corner: closed by padding
	m1, _ := MarchingCubes(v, Label(1))
	m2, _ := MarchingCubes(v, Label(2))
	lo, _ := m1.Bounds()
	_, hi2 := m2.Bounds()
	if lo[0] < 1 || hi2[0] < 19 {
		t.Errorf("bounds %v %v", lo, hi2)
	}
	// A 4x4x4 cube of voxels at level 0.5 is a chamfered box; its volume
	// is 4^3 minus the corner and edge chamfers: compare with label 2 minus
	// the extra single voxel, whose octahedron has volume 4/3 * 0.5^3.
	oct := 4.0 / 3 * 0.125
	if d := m2.Volume() - m1.Volume() - oct; math.Abs(d) > 1e-4 {
		t.Errorf("label 2 volume %g, label 1 %g, difference %g, want one octahedron %g", m2.Volume(), m1.Volume(), m2.Volume()-m1.Volume(), oct)
	}
	if top := m2.Topology(); !top.Closed() || top.Euler != 4 {
		t.Errorf("two closed pieces expected: %+v", top)
	}
	open, _ := MarchingCubes(v, Options{Select: func(x float32) bool { return x == 2 }})
	if open.Topology().Closed() {
		t.Error("unclosed surface of a label touching the edge claims to be closed")
	}
	if _, err := MarchingCubes(v, Options{Level: 0.5, Closed: true, Outside: 2}); err == nil {
		t.Error("outside value above the level accepted")
	}
}

func TestSmoothing(t *testing.T) {
	g := volume.NewGeometry([3]int{30, 30, 30}, [3]float64{0.5, 0.5, 0.5})
	v := binarize(field(g, ellipsoid(5, 5, 5)), 0)
	base, _ := MarchingCubes(v, Label(1))
	lap, tau := &Mesh{}, &Mesh{}
	*lap = Mesh{Vertices: slices.Clone(base.Vertices), Triangles: base.Triangles}
	*tau = Mesh{Vertices: slices.Clone(base.Vertices), Triangles: base.Triangles}
	lap.Smooth(20, 0.5)
	tau.Taubin(20, 0.5, -0.53)
	exactArea := 4 * math.Pi * 25
	t.Logf("area: raw %.1f, Laplacian %.1f, Taubin %.1f, sphere %.1f; volume raw %.1f, Laplacian %.1f, Taubin %.1f, sphere %.1f",
		base.Area(), lap.Area(), tau.Area(), exactArea, base.Volume(), lap.Volume(), tau.Volume(), 4.0/3*math.Pi*125)
	if !(math.Abs(tau.Area()-exactArea) < math.Abs(base.Area()-exactArea)) {
		t.Error("Taubin smoothing did not bring the area closer to the sphere's")
	}
	if shrinkLap, shrinkTau := base.Volume()-lap.Volume(), math.Abs(base.Volume()-tau.Volume()); !(shrinkTau < shrinkLap) || shrinkTau/base.Volume() > 0.02 {
		t.Errorf("volume change: Laplacian %g, Taubin %g", shrinkLap, shrinkTau)
	}
}

func TestWritersAndWeld(t *testing.T) {
	g := volume.NewGeometry([3]int{14, 14, 14}, [3]float64{0.5, 0.6, 0.7})
	m, err := MarchingCubes(binarize(field(g, torus(2, 1)), 0), Label(1))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, ext := range []string{".stl", ".ply", ".obj", ".json", ".otomesh"} {
		path := filepath.Join(dir, "m"+ext)
		if err := WriteFile(path, m); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		switch ext {
		case ".stl":
			if len(b) != 84+50*m.NumTriangles() || binary.LittleEndian.Uint32(b[80:]) != uint32(m.NumTriangles()) {
				t.Fatalf("STL: %d bytes for %d triangles", len(b), m.NumTriangles())
			}
			// Read the triangle soup back, weld it, and get the mesh again.
			soup := &Mesh{}
			for tr := 0; tr < m.NumTriangles(); tr++ {
				rec := b[84+50*tr:]
				for c := 0; c < 9; c++ {
					soup.Vertices = append(soup.Vertices, math.Float32frombits(binary.LittleEndian.Uint32(rec[12+4*c:])))
				}
				n := uint32(3 * tr)
				soup.Triangles = append(soup.Triangles, n, n+1, n+2)
				// stored normal agrees with the winding
				nrm := [3]float32{math.Float32frombits(binary.LittleEndian.Uint32(rec)), math.Float32frombits(binary.LittleEndian.Uint32(rec[4:])), math.Float32frombits(binary.LittleEndian.Uint32(rec[8:]))}
				a, bb, c := soup.Vertex(n), soup.Vertex(n+1), soup.Vertex(n+2)
				x := cross3(sub(bb, a), sub(c, a))
				if x[0]*float64(nrm[0])+x[1]*float64(nrm[1])+x[2]*float64(nrm[2]) < 0 {
					t.Fatal("STL normal disagrees with winding")
				}
			}
			w := soup.Weld(1e-4)
			if w.NumVertices() != m.NumVertices() || !w.Topology().Closed() || math.Abs(w.Volume()-m.Volume()) > 1e-3 {
				t.Errorf("welded STL: %d vertices (want %d), %+v", w.NumVertices(), m.NumVertices(), w.Topology())
			}
		case ".ply":
			hdrEnd := bytes.Index(b, []byte("end_header\n")) + len("end_header\n")
			if want := hdrEnd + 12*m.NumVertices() + 13*m.NumTriangles(); len(b) != want {
				t.Errorf("PLY: %d bytes, want %d", len(b), want)
			}
		case ".obj":
			s := string(b)
			if strings.Count(s, "\nv ") != m.NumVertices() || strings.Count(s, "\nf ") != m.NumTriangles() {
				t.Errorf("OBJ: wrong line counts")
			}
		case ".json", ".otomesh":
			back, err := ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(back.Vertices, m.Vertices) || !slices.Equal(back.Triangles, m.Triangles) {
				t.Errorf("%s round trip changed the mesh", ext)
			}
		}
	}
	var js map[string]json.RawMessage
	b, _ := os.ReadFile(filepath.Join(dir, "m.json"))
	if json.Unmarshal(b, &js) != nil || js["vertices"] == nil || js["triangles"] == nil {
		t.Error("JSON form lacks vertices/triangles")
	}
	if err := WriteFile(filepath.Join(dir, "m.xyz"), m); err == nil {
		t.Error("unknown extension accepted")
	}
	if err := WriteFile(filepath.Join(dir, "missing", "m.stl"), m); err == nil {
		t.Error("write into a missing directory succeeded")
	}
	bad := &Mesh{Vertices: []float32{0, 0, 0}, Triangles: []uint32{0, 0, 5}}
	if err := WriteFile(filepath.Join(dir, "bad.stl"), bad); err == nil {
		t.Error("mesh naming a missing vertex written")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func FuzzDecodeBinary(f *testing.F) {
	var buf bytes.Buffer
	EncodeBinary(&buf, &Mesh{Vertices: []float32{0, 0, 0, 1, 0, 0, 0, 1, 0}, Triangles: []uint32{0, 1, 2}})
	f.Add(buf.Bytes())
	f.Add([]byte("OTOMESH1\xff\xff\xff\xff\x00\x00\x00\x00"))
	f.Add([]byte("OTOMESH1\x01\x00\x00\x00\x01\x00\x00\x00"))
	var labelled bytes.Buffer
	EncodeBinary(&labelled, &Mesh{Vertices: []float32{0, 0, 0, 1, 0, 0, 0, 1, 0}, Triangles: []uint32{0, 1, 2}, Labels: []uint8{1, 2, 3}})
	f.Add(labelled.Bytes())
	f.Add([]byte("OTOMESH2\x03\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("nope"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeBinary(bytes.NewReader(data))
		if err != nil {
			return
		}
		if err := m.Check(); err != nil {
			t.Fatalf("decoded an invalid mesh: %v", err)
		}
		var out bytes.Buffer
		if err := EncodeBinary(&out, m); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), data[:out.Len()]) {
			t.Fatal("re-encoding differs")
		}
	})
}

func BenchmarkMarchingCubes(b *testing.B) {
	cases := []struct {
		name string
		dims [3]int
	}{{"ROI160-label", [3]int{160, 160, 160}}, {"CT512x512x200-label", [3]int{512, 512, 200}}}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			g := volume.NewGeometry(c.dims, [3]float64{0.25, 0.25, 0.25})
			// a labyrinth-sized torus plus an ellipsoid, as label 1
			v := binarize(field(g, func(x, y, z float64) float64 {
				q := math.Hypot(x, y) - float64(c.dims[0])*0.08
				return math.Max(4-(q*q+z*z), 1-(x*x/400+y*y/300+z*z/200))
			}), 0)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m, err := MarchingCubes(v, Label(1))
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(m.NumTriangles()), "triangles")
			}
		})
	}
}
