package train

import (
	"context"
	"io"
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
	cal, err := Calibrate(context.Background(), io.Discard, m, cases)
	if err != nil {
		t.Fatal(err)
	}
	if cal.Threshold < 0.3 || cal.Threshold > 0.5 {
		t.Errorf("threshold %v outside the candidates", cal.Threshold)
	}
	if !(cal.MinScore > 0) || !strings.Contains(cal.Summary, "1 validation cases") {
		t.Errorf("min score %v, summary %q", cal.MinScore, cal.Summary)
	}
	// The minimum is half the weakest ear: both ears of this case pass it.
	m.Plan.Locator.MinScore = cal.MinScore
	res, err := m.Segment(context.Background(), img, segment.DefaultOptions())
	if err != nil || len(res.Ears) != 2 {
		t.Fatalf("after calibration: %v ears, err %v", res, err)
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
