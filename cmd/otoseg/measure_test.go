package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/phantom"
	"github.com/otoseg/otoseg/volume"
)

// writeEarCase writes a single-ear phantom of centre C and returns the
// case folder and its truth.
func writeEarCase(t *testing.T, seed uint64) (string, *phantom.Meta) {
	t.Helper()
	dir := t.TempDir()
	c, _ := phantom.CentreByName("C")
	img, lab, meta, err := phantom.Generate(phantom.Config{Centre: c, Seed: seed, Side: "left", Spacing: [3]float64{0.3, 0.3, 0.3}})
	if err != nil {
		t.Fatal(err)
	}
	meta.CaseID = "ear"
	if err := phantom.WriteCase(dir, img, lab, meta); err != nil {
		t.Fatal(err)
	}
	return dir, &meta
}

// segment --measure: the sidecar holds the QC verdict and the
// measurements, and the cochlear view is written beside the labels.
func TestSegmentMeasureAndQC(t *testing.T) {
	dir, meta := writeEarCase(t, 4242)
	out := filepath.Join(dir, "out", "ear.nii.gz")
	var stdout bytes.Buffer
	cmd := newRootCmd()
	cmd.SetArgs([]string{"segment", filepath.Join(dir, "images", "ear.nii.gz"), "-o", out, "--measure"})
	cmd.SetOut(&stdout)
	cmd.SetErr(io.Discard)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "QC ") {
		t.Errorf("console does not show the QC flag: %q", stdout.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "out", "ear.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Ears []struct {
			Side string `json:"side"`
			QC   *struct {
				Score   float64  `json:"score"`
				Flag    string   `json:"flag"`
				Reasons []string `json:"reasons"`
			} `json:"qc"`
		} `json:"ears"`
		Measure *struct {
			Ears []struct {
				Side   string   `json:"side"`
				AValue *float64 `json:"a_value_mm"`
			} `json:"ears"`
		} `json:"measure"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Ears) != 1 || rep.Ears[0].QC == nil {
		t.Fatalf("sidecar ears %+v", rep.Ears)
	}
	q := rep.Ears[0].QC
	if q.Score < 0 || q.Score > 1 || (q.Flag != "ok" && q.Flag != "review") || q.Reasons == nil {
		t.Errorf("qc %+v", q)
	}
	if rep.Measure == nil || len(rep.Measure.Ears) != 1 || rep.Measure.Ears[0].AValue == nil {
		t.Fatalf("measure record %+v", rep.Measure)
	}
	var truth phantom.Ear
	for _, e := range meta.Ears {
		if e.InFOV {
			truth = e
		}
	}
	if a := *rep.Measure.Ears[0].AValue; math.Abs(a-truth.AValue) > 0.5 {
		t.Errorf("A value on the model's labels %.2f, truth %.2f", a, truth.AValue)
	}
	f, err := os.Open(filepath.Join(dir, "out", "ear_left_cochlear_view.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("cochlear view: %v", err)
	}
}

// measure: the JSON record on the reference labels, and clear errors for
// a missing file and a map that is not an inner-ear label map.
func TestMeasureCommand(t *testing.T) {
	dir, meta := writeEarCase(t, 4343)
	lab := filepath.Join(dir, "labels", "ear.nii.gz")
	var out bytes.Buffer
	if err := runMeasureArgs(t, &out, "measure", lab, "--json", "-o", filepath.Join(dir, "m")); err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Ears []struct {
			Side     string   `json:"side"`
			Turns    *float64 `json:"turns"`
			Warnings []string `json:"warnings"`
		} `json:"ears"`
		Pictures []string `json:"pictures"`
	}
	if err := json.Unmarshal(out.Bytes(), &rec); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	var truth phantom.Ear
	for _, e := range meta.Ears {
		if e.InFOV {
			truth = e
		}
	}
	if len(rec.Ears) != 1 || rec.Ears[0].Turns == nil || math.Abs(*rec.Ears[0].Turns-truth.Turns) > 0.2 {
		t.Fatalf("record %+v, truth turns %.2f", rec.Ears, truth.Turns)
	}
	if len(rec.Pictures) != 1 {
		t.Errorf("pictures %v", rec.Pictures)
	}
	if _, err := os.Stat(filepath.Join(dir, "m", "ear_measure.json")); err != nil {
		t.Error(err)
	}
	// a label map with a value no label has
	v, _ := imageio.Read(lab)
	v.Data[v.Index(1, 1, 1)] = 7
	bad := filepath.Join(dir, "bad.nii.gz")
	if err := imageio.Write(bad, v); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.nii.gz")
	if err := imageio.Write(empty, volume.New(v.Geometry, volume.Uint8)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ file, want string }{
		{bad, "holds 7"}, {empty, "no labelled voxel"}, {filepath.Join(dir, "nothere.nii.gz"), "nothere.nii.gz"},
	} {
		err := runMeasureArgs(t, io.Discard, "measure", c.file)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), filepath.Base(c.file)) {
			t.Errorf("%s: error %v, want one naming the file and %q", c.file, err, c.want)
		}
	}
}

func runMeasureArgs(t *testing.T, w io.Writer, args ...string) error {
	t.Helper()
	cmd := newRootCmd()
	cmd.SetArgs(args)
	cmd.SetOut(w)
	cmd.SetErr(io.Discard)
	return cmd.Execute()
}
