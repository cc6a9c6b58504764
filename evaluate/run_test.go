package evaluate

import (
	"bytes"
	"context"
	"errors"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/metrics"
	"github.com/otoseg/otoseg/volume"
)

// memCohort writes a manifest and empty placeholder prediction files, and
// returns a reader that serves in-memory volumes by path.
func memCohort(t *testing.T) (Config, map[string]*volume.Volume) {
	t.Helper()
	dir := t.TempDir()
	g := volume.NewGeometry([3]int{120, 30, 30}, [3]float64{0.8, 0.5, 0.5})
	g.Origin[0] = -47.6 // x from -47.6 to +47.6 mm: two ears
	vols := map[string]*volume.Volume{}
	man := "case_id,image,label,center,split,subgroup,pathology,spacing_mm,manual_seconds\n"
	os.MkdirAll(filepath.Join(dir, "pred"), 0o755)
	for n, id := range []string{"a", "b", "c", "d"} {
		ref, pred := volume.New(g, volume.Uint8), volume.New(g, volume.Uint8)
		for _, ci := range []int{10, 100} {
			for k := 10; k < 18; k++ {
				for j := 10; j < 18; j++ {
					for i := ci; i < ci+9; i++ {
						ref.Set(i, j, k, float32(1+(i-ci)/3))
						pred.Set(i+n%2, j, k+n/2, float32(1+(i-ci)/3))
					}
				}
			}
		}
		label := filepath.Join(dir, id+"_ref.nii")
		vols[label] = ref
		p := filepath.Join(dir, "pred", id+".nii.gz")
		os.WriteFile(p, nil, 0o644)
		vols[p] = pred
		split := []string{"train", "validation", "external", "external"}[n]
		sub := []string{"normal", "pathological"}[n%2]
		man += id + ",img.nii," + id + "_ref.nii,X," + split + "," + sub + ",,,600\n"
	}
	man += "e,img.nii,,X,train,normal,,,\n" // no reference: skipped
	os.WriteFile(filepath.Join(dir, "m.csv"), []byte(man), 0o644)
	os.WriteFile(filepath.Join(dir, "t.csv"), []byte("case_id,seconds\na,30\nb,31\nc,29\nd,33\n"), 0o644)
	cfg := Config{Manifest: filepath.Join(dir, "m.csv"), PredDir: filepath.Join(dir, "pred"), OutDir: filepath.Join(dir, "out"),
		Times: filepath.Join(dir, "t.csv"), ToleranceMM: 1, Resamples: 100,
		Read: func(p string) (*volume.Volume, error) {
			if v, ok := vols[p]; ok {
				return v, nil
			}
			return nil, errors.New(p + ": not in memory")
		}}
	return cfg, vols
}

func TestRunInMemory(t *testing.T) {
	cfg, _ := memCohort(t)
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(res.Rows), 4*3*len(metrics.Structures); got != want {
		t.Fatalf("%d rows, want %d", got, want)
	}
	for _, e := range res.Ears {
		if len(e.Ears) != 2 || e.PlaneX == nil {
			t.Fatalf("case %s: ears %+v", e.CaseID, e)
		}
	}
	// Case a: identical; b: shifted one voxel in x -> Dice 8/9 per label box.
	for _, r := range res.Rows {
		if r.Case.ID == "a" && r.Dice != 1 {
			t.Errorf("a %s/%s dice %g", r.Ear, r.Structure, r.Dice)
		}
		if r.Case.ID == "b" && r.Structure == "labyrinth" && r.Dice != 16.0/18 {
			t.Errorf("b %s dice %g, want 8/9", r.Ear, r.Dice)
		}
	}
	s := res.Summary
	if len(s.SkippedNoReference) != 1 || s.SkippedNoReference[0] != "e" {
		t.Errorf("skipped %v", s.SkippedNoReference)
	}
	if s.Time == nil || s.Time.Paired != 4 || s.Time.SpeedupOfMedians != 600/30.5 {
		t.Errorf("time %+v", s.Time)
	}
	for _, name := range []string{"cases.csv", "summary.json", "report.html", "dice_by_group.png", "bland_altman_volume.svg"} {
		if _, err := os.Stat(filepath.Join(cfg.OutDir, name)); err != nil {
			t.Error(err)
		}
	}
	html, _ := os.ReadFile(filepath.Join(cfg.OutDir, "report.html"))
	for _, want := range []string{"Lowest-Dice ears", "Mann-Whitney U", "Wilcoxon signed-rank", "speed-up"} {
		if !bytes.Contains(html, []byte(want)) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	// No temporary files left behind.
	ents, _ := os.ReadDir(cfg.OutDir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("leftover %s", e.Name())
		}
	}
}

func TestRunMissingPredictionsListed(t *testing.T) {
	cfg, _ := memCohort(t)
	os.Remove(filepath.Join(cfg.PredDir, "b.nii.gz"))
	os.Remove(filepath.Join(cfg.PredDir, "d.nii.gz"))
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "2 case(s): b, d") {
		t.Fatalf("error %v, want both missing cases listed", err)
	}
	if _, err := os.Stat(cfg.OutDir); !os.IsNotExist(err) {
		t.Error("output directory created despite the error")
	}
}

func TestRunSidecarOnlyIsEmptyPrediction(t *testing.T) {
	cfg, _ := memCohort(t)
	os.Remove(filepath.Join(cfg.PredDir, "c.nii.gz"))
	os.WriteFile(filepath.Join(cfg.PredDir, "c.json"), []byte(`{"seconds": 12, "message": "no inner ear found"}`), 0o644)
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Summary.EmptyFromSidecar; len(got) != 1 || got[0] != "c" {
		t.Fatalf("empty from sidecar: %v", got)
	}
	n := 0
	for _, r := range res.Rows {
		if r.Case.ID == "c" {
			n++
			if r.Status != metrics.StatusPredEmpty || r.Dice != 0 {
				t.Errorf("c %s/%s: %s dice %g", r.Ear, r.Structure, r.Status, r.Dice)
			}
		}
	}
	if n != 12 {
		t.Errorf("%d rows for c, want 12", n)
	}
}

func TestRunReadErrorNamesCase(t *testing.T) {
	cfg, vols := memCohort(t)
	for p := range vols {
		if strings.HasSuffix(p, "c_ref.nii") {
			delete(vols, p)
		}
	}
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "case c: reference") {
		t.Fatalf("error %v", err)
	}
}

// TestEarPicture checks the agreement picture pixel by pixel: the colours
// at known mm offsets, the radiological orientation of each plane (patient
// left on the right of the axial panel, anterior up; anterior on the left
// of the sagittal panel, superior up), CT grey under the colours, and white
// outside the image.
func TestEarPicture(t *testing.T) {
	g := volume.NewGeometry([3]int{60, 60, 60}, [3]float64{0.5, 0.5, 0.5})
	ref, pred, ct := volume.New(g, volume.Uint8), volume.New(g, volume.Uint8), volume.New(g, volume.Int16)
	for i := range ct.Data {
		ct.Data[i] = 2200 // white in the bone window
	}
	// Reference voxels 25..35: centroid at voxel 30, 15 mm on each axis.
	for k := 25; k <= 35; k++ {
		for j := 25; j <= 35; j++ {
			for i := 25; i <= 35; i++ {
				ref.Set(i, j, k, 1)
				pred.Set(i+4, j, k, 1) // prediction 2 mm towards patient left (+x)
			}
		}
	}
	// False-positive rods 6.5 mm anterior (−y) and 6 mm superior (+z) of
	// the centroid.
	for i := 28; i < 32; i++ {
		pred.Set(i, 17, 30, 1)
		pred.Set(i, 30, 42, 1)
	}
	ears := metrics.Ears{Present: []string{metrics.EarLeft}}
	rgb := func(c color.RGBA) [3]uint8 { return [3]uint8{c.R, c.G, c.B} }
	grey := color.RGBA{R: 255, G: 255, B: 255, A: 255}
	for _, tc := range []struct {
		name  string
		ct    *volume.Volume
		panel int
		// offsets in mm from the centroid: right on screen, up on screen
		right, up float64
		want      [3]uint8
	}{
		{"axial background", ct, 0, -3.6, 0, rgb(grey)},
		{"axial missed (patient right)", ct, 0, -2.1, 0, rgb(blend(grey, picRef, picAlpha))},
		{"axial both", ct, 0, 1, 0, rgb(blend(grey, picBoth, picAlpha))},
		{"axial false positive (patient left)", ct, 0, 3.1, 0, rgb(blend(grey, picPred, picAlpha))},
		{"axial anterior is up", ct, 0, -0.9, 6.5, rgb(blend(grey, picPred, picAlpha))},
		{"axial posterior empty", ct, 0, -0.9, -6.1, rgb(grey)},
		{"coronal superior is up", ct, 1, -0.9, 6.1, rgb(blend(grey, picPred, picAlpha))},
		{"sagittal anterior is left", ct, 2, -6.5, 0.1, rgb(blend(grey, picPred, picAlpha))},
		{"sagittal superior is up", ct, 2, 0.1, 6.1, rgb(blend(grey, picPred, picAlpha))},
		{"no CT: opaque colours", nil, 0, -2.1, 0, rgb(picRef)},
		{"no CT: dark background", nil, 0, -3.6, 0, rgb(picBg)},
		{"outside the image is white", ct, 0, 11.9, 11.9, rgb(picGap)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := earPicture(tc.ct, ref, pred, ears, metrics.EarLeft)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if w := img.Bounds().Dx(); w != 3*picPixels+2*picGapPx {
				t.Fatalf("width %d", w)
			}
			px := picFieldMM / picPixels
			// Pixel centres sit at (u − picPixels/2 + 0.5)·px from the
			// centroid.
			x := tc.panel*(picPixels+picGapPx) + int(math.Floor(tc.right/px+picPixels/2))
			y := picTitlePx + int(math.Floor(picPixels/2-tc.up/px))
			r, g, bl, _ := img.At(x, y).RGBA()
			if got := [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8)}; got != tc.want {
				t.Errorf("pixel (%d, %d): colour %v, want %v", x, y, got, tc.want)
			}
		})
	}
	if _, err := earPicture(nil, volume.New(g, volume.Uint8), pred, ears, metrics.EarLeft); err == nil {
		t.Error("an ear without reference voxels was pictured")
	}
}
