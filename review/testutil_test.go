package review

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/volume"
)

// synthEar draws a tiny synthetic temporal bone: a block of bone (1600 HU)
// in soft tissue (40 HU) with a fluid-filled labyrinth (0 HU) carved in it:
// a torus for the cochlea (label 1), a ball for the vestibule (2) and a ring
// for a semicircular canal (3). shift moves the labyrinth by whole voxels
// (automated segmentations are the manual ones shifted).
func synthEar(dims [3]int, shift int) (ct, labels *volume.Volume) {
	g := volume.NewGeometry(dims, [3]float64{0.4, 0.4, 0.5})
	g.Origin = [3]float64{-10, 20, 5}
	ct = volume.New(g, volume.Int16)
	labels = volume.New(g, volume.Uint8)
	cx, cy, cz := float64(dims[0])/2, float64(dims[1])/2, float64(dims[2])/2
	r := math.Min(float64(dims[0]), float64(dims[1])) / 8
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			for i := 0; i < dims[0]; i++ {
				x, y, z := float64(i-shift)-cx, float64(j)-cy, (float64(k)-cz)*0.5/0.4
				v := float32(40)
				if math.Abs(x) < 3*r && math.Abs(y) < 3*r && math.Abs(z) < 2.5*r {
					v = 1600
				}
				l := uint8(0)
				// cochlea: torus around (-r, 0, 0), axis z
				if d := math.Hypot(math.Hypot(x+r, y)-r*0.8, z); d < r*0.35 {
					l = 1
				}
				// vestibule: ball at (r, 0, 0)
				if math.Sqrt((x-r)*(x-r)+y*y+z*z) < r*0.8 {
					l = 2
				}
				// canal: ring around (2r, 0, r) in the x-z plane
				if d := math.Hypot(math.Hypot(x-2*r, z-r)-r*0.9, y); d < r*0.2 {
					l = 3
				}
				if l != 0 {
					v = 0
				}
				ct.Set(i, j, k, v)
				labels.Set(i, j, k, float32(l))
			}
		}
	}
	return ct, labels
}

// makeStudy writes a study folder with n cases of the given dimensions and
// returns its path.
func makeStudy(t testing.TB, n int, dims [3]int) string {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"images", "labels", PredictionsDir} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	b.WriteString("case_id,image,label,center,split,subgroup,pathology,spacing_mm,manual_seconds\n")
	ct, lab := synthEar(dims, 0)
	_, pred := synthEar(dims, 1)
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("case%03d", i+1)
		for _, f := range []struct {
			path string
			v    *volume.Volume
		}{
			{filepath.Join(dir, "images", id+".nii.gz"), ct},
			{filepath.Join(dir, "labels", id+".nii.gz"), lab},
			{filepath.Join(dir, PredictionsDir, id+".nii.gz"), pred},
		} {
			if err := imageio.Write(f.path, f.v); err != nil {
				t.Fatal(err)
			}
		}
		center := []string{"north", "south"}[i%2]
		fmt.Fprintf(&b, "%s,images/%s.nii.gz,labels/%s.nii.gz,%s,external,normal,,0.4x0.4x0.5,600\n", id, id, id, center)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
