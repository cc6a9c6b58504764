package main

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
