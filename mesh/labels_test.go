package mesh

import (
	"bytes"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/otoseg/otoseg/volume"
)

// labelBlocks is a label map of two 4-voxel cubes that touch (label 1 for
// i < 6, label 2 for i >= 6) and a separate cube of label 3, on geometry g.
func labelBlocks(g volume.Geometry) *volume.Volume {
	v := volume.New(g, volume.Uint8)
	for k := 2; k < 6; k++ {
		for j := 2; j < 6; j++ {
			for i := 2; i < 10; i++ {
				v.Set(i, j, k, float32(1+i/6))
			}
			for i := 13; i < 17; i++ {
				v.Set(i, j, k, 3)
			}
		}
	}
	return v
}

// LabelSurface gives one closed surface per connected structure (touching
// labels share it) whatever the grid's orientation, and each vertex the
// label of the voxel next to it.
func TestLabelSurface(t *testing.T) {
	dims := [3]int{20, 10, 10}
	for _, tc := range []struct {
		name string
		g    volume.Geometry
	}{
		{"axis-aligned", volume.NewGeometry(dims, [3]float64{0.5, 0.5, 0.5})},
		{"oblique, anisotropic", volume.Geometry{Dims: dims, Spacing: [3]float64{0.4, 0.5, 0.7},
			Origin: [3]float64{-3, 8, 40}, Direction: rot(10, 25, -40)}},
		{"mirrored", volume.Geometry{Dims: dims, Spacing: [3]float64{0.3, 0.3, 0.6},
			Direction: [3][3]float64{{-1, 0, 0}, {0, 1, 0}, {0, 0, 1}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := labelBlocks(tc.g)
			m, err := LabelSurface(v)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Check(); err != nil {
				t.Fatal(err)
			}
			// Two closed pieces: labels 1 and 2 together, label 3 alone.
			if top := m.Topology(); !top.Closed() || top.Euler != 4 || m.Volume() <= 0 {
				t.Fatalf("topology %+v, volume %g", top, m.Volume())
			}
			for i, l := range m.Labels {
				x := v.ContinuousIndex(m.Vertex(uint32(i)))[0]
				want := uint8(1)
				switch {
				case x > 11:
					want = 3
				case x > 5.5:
					want = 2
				}
				if l != want {
					t.Fatalf("vertex %d at voxel x %.2f has label %d, want %d", i, x, l, want)
				}
			}
		})
	}
}

// Labels survive the binary form, the JSON form, welding and Taubin
// smoothing; a mesh without labels keeps the first binary form.
func TestLabelsKept(t *testing.T) {
	m, err := LabelSurface(labelBlocks(volume.NewGeometry([3]int{20, 10, 10}, [3]float64{0.5, 0.5, 0.5})))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := EncodeBinary(&buf, m); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.Len(), 16+12*m.NumVertices()+12*m.NumTriangles()+m.NumVertices(); got != want || string(buf.Bytes()[:8]) != "OTOMESH2" {
		t.Fatalf("labelled binary form: %d bytes, magic %q; want %d and OTOMESH2", got, buf.Bytes()[:8], want)
	}
	dir := t.TempDir()
	for _, ext := range []string{".otomesh", ".json"} {
		path := filepath.Join(dir, "m"+ext)
		if err := WriteFile(path, m); err != nil {
			t.Fatal(err)
		}
		back, err := ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(back.Labels, m.Labels) || !slices.Equal(back.Triangles, m.Triangles) {
			t.Errorf("%s round trip changed the labels or triangles", ext)
		}
	}
	smooth := &Mesh{Vertices: slices.Clone(m.Vertices), Triangles: m.Triangles, Labels: m.Labels}
	smooth.Taubin(10, 0.5, -0.53)
	if math.Abs(smooth.Volume()-m.Volume()) > 0.05*m.Volume() {
		t.Errorf("Taubin smoothing changed the volume from %g to %g", m.Volume(), smooth.Volume())
	}
	w := smooth.Weld(1e-4)
	if w.NumVertices() != m.NumVertices() || !slices.Equal(w.Labels, m.Labels) {
		t.Errorf("weld of a welded mesh changed %d vertices to %d or the labels", m.NumVertices(), w.NumVertices())
	}
	plain := &Mesh{Vertices: m.Vertices, Triangles: m.Triangles}
	buf.Reset()
	if err := EncodeBinary(&buf, plain); err != nil || string(buf.Bytes()[:8]) != "OTOMESH1" {
		t.Errorf("unlabelled binary form: magic %q, %v", buf.Bytes()[:8], err)
	}
	bad := &Mesh{Vertices: m.Vertices, Triangles: m.Triangles, Labels: m.Labels[1:]}
	if bad.Check() == nil || EncodeBinary(&buf, bad) == nil {
		t.Error("a label short accepted")
	}
}
