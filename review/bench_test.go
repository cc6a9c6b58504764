package review

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/otoseg/otoseg/ear"
	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/mesh"
	"github.com/otoseg/otoseg/render"
	"github.com/otoseg/otoseg/volume"
)

// benchDims is the scan size the issue asks to be quick on.
var benchDims = [3]int{512, 512, 200}

// BenchmarkSlicePNG renders one 512x512x200 slice per view as PNG, the
// server's work per tile once the volume is cached.
func BenchmarkSlicePNG(b *testing.B) {
	ct, lab := synthEar(benchDims, 0)
	labels, err := toLabels("bench", lab)
	if err != nil {
		b.Fatal(err)
	}
	f := NewFrame(ct.Geometry)
	enc := newPNGEncoder()
	palette := ear.Palette()
	for _, v := range []struct {
		name string
		view View
	}{{"axial", Axial}, {"coronal", Coronal}, {"sagittal", Sagittal}} {
		_, _, _, _, n := f.SliceSize(v.view)
		b.Run(v.name+"/ct", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				img, err := ImageSlice(ct.Data, f, v.view, (i*7)%n, render.BoneWindow)
				if err == nil {
					_, err = enc.encode(img)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(v.name+"/label", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				img, err := LabelSlice(labels, f, v.view, (i*7)%n, palette)
				if err == nil {
					_, err = enc.encode(img)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSurface builds the 3-D surface of the ear of a 512x512x200
// label map.
func BenchmarkSurface(b *testing.B) {
	_, lab := synthEar(benchDims, 0)
	labels, _ := toLabels("bench", lab)
	ears := earBoxes(labels, lab.Geometry, NewFrame(lab.Geometry))
	if len(ears) != 1 {
		b.Fatalf("%d ears", len(ears))
	}
	var m *mesh.Mesh
	for b.Loop() {
		var err error
		if m, err = earSurface(labels, lab.Geometry, ears[0]); err != nil {
			b.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := mesh.EncodeBinary(&buf, m); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(m.NumTriangles()), "triangles")
	b.ReportMetric(float64(buf.Len()), "bytes")
}

// writeBenchStudy writes a one-case study of benchDims (once per process).
func writeBenchStudy(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	ct, lab := synthEar(benchDims, 0)
	for _, f := range []struct {
		p string
		v *volume.Volume
	}{{"images/c1.nii.gz", ct}, {"labels/c1.nii.gz", lab}, {PredictionsDir + "/c1.nii.gz", lab}} {
		p := filepath.Join(dir, f.p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := imageio.Write(p, f.v); err != nil {
			b.Fatal(err)
		}
	}
	m := "case_id,image,label,center,split,subgroup,pathology,spacing_mm,manual_seconds\nc1,images/c1.nii.gz,labels/c1.nii.gz,a,external,normal,,,\n"
	if err := os.WriteFile(filepath.Join(dir, "manifest.csv"), []byte(m), 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkSliceRequest is a whole HTTP round trip for one slice tile
// (session lookup, assignment check, render, PNG) from the cached
// 512x512x200 volume, as the browser makes while scrolling; and
// BenchmarkSliceRequest/cold the first request of a case, which reads the
// CT and the segmentation (.nii.gz) into the cache.
func BenchmarkSliceRequest(b *testing.B) {
	dir := writeBenchStudy(b)
	h := newHarness(b, dir, false, "alice")
	c := h.login("alice")
	k := h.key("alice", "c1")
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			h.srv.cache = NewCache(imageio.Read, 2<<30)
			b.StartTimer()
			if status, body := c.do("GET", "/api/cases/"+k+"/slice?view=axial&index=100&layer=A", nil, nil); status != http.StatusOK {
				b.Fatalf("%d %s", status, body)
			}
		}
	})
	for _, view := range []string{"axial", "coronal", "sagittal"} {
		b.Run(view, func(b *testing.B) {
			n := map[string]int{"axial": 200, "coronal": 512, "sagittal": 512}[view]
			for i := 0; b.Loop(); i++ {
				layer := []string{"image", "A"}[i%2]
				if status, body := c.do("GET", fmt.Sprintf("/api/cases/%s/slice?view=%s&index=%d&layer=%s", k, view, (i*7)%n, layer), nil, nil); status != http.StatusOK {
					b.Fatalf("%d %s", status, body)
				}
			}
		})
	}
}

// BenchmarkRating is one acknowledged rating: an HTTP POST and a durable
// SQLite transaction (WAL, synchronous=FULL).
func BenchmarkRating(b *testing.B) {
	h := newHarness(b, makeStudy(b, 1, [3]int{8, 8, 4}), false, "alice")
	c := h.login("alice")
	k := h.key("alice", "case001")
	for i := 0; b.Loop(); i++ {
		if status, body := c.rate(k, 1+i%4, "bench", float64(i)); status != 200 {
			b.Fatalf("%d %s", status, body)
		}
	}
}

// BenchmarkEarBoxes finds the ears of a 512x512x200 label map (once per case,
// when it is first opened).
func BenchmarkEarBoxes(b *testing.B) {
	_, lab := synthEar(benchDims, 0)
	labels, _ := toLabels("bench", lab)
	f := NewFrame(lab.Geometry)
	for b.Loop() {
		if es := earBoxes(labels, lab.Geometry, f); len(es) != 1 {
			b.Fatalf("%d ears", len(es))
		}
	}
}
