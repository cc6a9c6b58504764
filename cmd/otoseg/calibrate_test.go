package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/dataset"
	"github.com/otoseg/otoseg/models"
	"github.com/otoseg/otoseg/phantom"
	"github.com/otoseg/otoseg/segment"
	"github.com/otoseg/otoseg/volume"
)

// calibrate picks one of its thresholds from real segmentations and sets
// the localiser's minimum score to half the weakest ear it found.
func TestCalibrateOnAPhantom(t *testing.T) {
	m, err := segment.LoadModelFS(models.Baseline())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c, _ := phantom.CentreByName("A")
	img, lab, meta, err := phantom.Generate(phantom.Config{Centre: c, Seed: 31337})
	if err != nil {
		t.Fatal(err)
	}
	meta.CaseID = "cal1"
	if err := phantom.WriteCase(dir, img, lab, meta); err != nil {
		t.Fatal(err)
	}
	cases := []dataset.Case{{ID: "cal1", Image: filepath.Join(dir, "images", "cal1.nii.gz"), Label: filepath.Join(dir, "labels", "cal1.nii.gz")}}
	cal, err := calibrate(context.Background(), io.Discard, m, cases)
	if err != nil {
		t.Fatal(err)
	}
	if cal.threshold < 0.3 || cal.threshold > 0.5 {
		t.Errorf("threshold %v outside the candidates", cal.threshold)
	}
	if !(cal.minScore > 0) || !strings.Contains(cal.summary, "1 validation cases") {
		t.Errorf("min score %v, summary %q", cal.minScore, cal.summary)
	}
	// The minimum is half the weakest ear: both ears of this case pass it.
	m.Plan.Locator.MinScore = cal.minScore
	res, err := m.Segment(context.Background(), img, segment.DefaultOptions())
	if err != nil || len(res.Ears) != 2 {
		t.Fatalf("after calibration: %v ears, err %v", res, err)
	}
}

// A scan without an inner ear: exit status 3, a sidecar saying so, and no
// label map.
func TestSegmentNoEarExitStatus(t *testing.T) {
	dir := t.TempDir()
	img, lab, meta, err := phantom.NonEar(phantom.NonEarConfig{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	meta.CaseID = "abdomen"
	if err := phantom.WriteCase(dir, img, lab, meta); err != nil {
		t.Fatal(err)
	}
	cmd := newRootCmd()
	cmd.SetArgs([]string{"segment", filepath.Join(dir, "images", "abdomen.nii.gz"), "-o", filepath.Join(dir, "out", "abdomen.nii.gz")})
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	err = cmd.Execute()
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 3 || !errors.Is(err, segment.ErrNoEar) {
		t.Fatalf("err = %v, want exit status 3 and ErrNoEar", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "abdomen.nii.gz")); !os.IsNotExist(err) {
		t.Errorf("a label map was written for a scan without an inner ear (stat: %v)", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "out", "abdomen.json"))
	if err != nil || !strings.Contains(string(b), "no inner ear") {
		t.Errorf("sidecar %q, %v", b, err)
	}
}

// overlapsReference tells a found ear that is an ear from a false candidate
// the segmenter preferred: only the first may set the localiser's minimum.
func TestOverlapsReference(t *testing.T) {
	g := volume.NewGeometry([3]int{10, 10, 10}, [3]float64{1, 1, 1})
	ref := volume.New(g, volume.Uint8)
	pred := volume.New(g, volume.Uint8)
	ref.Data[ref.Index(2, 2, 2)] = 1
	pred.Data[pred.Index(2, 2, 2)] = 3 // overlaps the reference
	pred.Data[pred.Index(8, 8, 8)] = 1 // a false ear far from it
	for _, tc := range []struct {
		name   string
		lo, hi [3]int
		want   bool
	}{
		{"true ear", [3]int{1, 1, 1}, [3]int{3, 3, 3}, true},
		{"false ear", [3]int{7, 7, 7}, [3]int{9, 9, 9}, false},
		{"box without labels", [3]int{4, 4, 4}, [3]int{6, 6, 6}, false},
	} {
		if got := overlapsReference(ref, pred, segment.Ear{BoxLo: tc.lo, BoxHi: tc.hi}); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}
