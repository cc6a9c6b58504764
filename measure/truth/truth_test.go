package truth

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/dataset"
	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/phantom"
)

// cohort writes a one-case phantom cohort (a single ear, centre C at 0.3
// mm) with its manifest and returns the manifest path.
func cohort(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	c, _ := phantom.CentreByName("C")
	img, lab, meta, err := phantom.Generate(phantom.Config{Centre: c, Seed: 77, Side: "right", Spacing: [3]float64{0.3, 0.3, 0.3}})
	if err != nil {
		t.Fatal(err)
	}
	meta.CaseID, meta.Split = "t1", "external"
	if err := phantom.WriteCase(dir, img, lab, meta); err != nil {
		t.Fatal(err)
	}
	if err := phantom.WriteManifest(dir, []dataset.Case{phantom.Row(meta)}); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "manifest.csv")
}

// The reference labels of a normal ear measure within the targets, the
// tables count it, and a prediction folder without the case gives a row
// marked not found.
func TestValidateReferenceAndMissingPrediction(t *testing.T) {
	man := cohort(t)
	var md bytes.Buffer
	out := filepath.Join(filepath.Dir(man), "report")
	groups, err := Run(man, Options{}, out, "test", &md)
	if err != nil {
		t.Fatal(err)
	}
	normal := groups[0]
	if normal.Name != "normal" || normal.Ears != 1 || normal.Found != 1 {
		t.Fatalf("group %+v", normal)
	}
	for _, s := range normal.Stats {
		if tgt, ok := Targets[s.Figure]; ok && (s.N != 1 || s.WithinTarget != 1) {
			t.Errorf("%s: n %d, within ±%g: %d (MAE %.3f)", s.Figure, s.N, tgt, s.WithinTarget, s.MAE)
		}
	}
	if !strings.Contains(md.String(), "| a_value_mm (mm) | 1 |") {
		t.Errorf("table:\n%s", md.String())
	}
	for _, f := range []string{"measure_errors.md", "measure_errors.csv", "measure_errors.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	// a prediction folder holding an empty label map for the case
	pred := t.TempDir()
	lab, err := imageio.Read(filepath.Join(filepath.Dir(man), "labels", "t1.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range lab.Data {
		lab.Data[i] = 0
	}
	if err := imageio.Write(filepath.Join(pred, "t1.nii.gz"), lab); err != nil {
		t.Fatal(err)
	}
	rows, err := Validate(man, Options{Pred: pred})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Found || len(rows[0].Errors) != 0 {
		t.Errorf("rows %+v", rows)
	}
	if math.IsNaN(rows[0].Truth["a_value_mm"]) {
		t.Error("truth missing")
	}
}

// A manifest without meta sidecars is refused with the case named.
func TestValidateNeedsMeta(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "manifest.csv")
	if err := dataset.Write(p, []dataset.Case{{ID: "x1", Image: "i.nii.gz", Label: "l.nii.gz", Center: "C", Split: "external", Subgroup: "normal", Pathology: "none"}}, nil); err != nil {
		t.Fatal(err)
	}
	_, err := Validate(p, Options{})
	if err == nil || !strings.Contains(err.Error(), "x1 has no meta sidecar") {
		t.Errorf("error %v", err)
	}
}

// Table formats each figure once for both the Markdown and otoseg
// evaluate's HTML: units, signed bias, the within-target count only for
// figures with a target, and no row for a figure nothing was known about.
func TestTable(t *testing.T) {
	g := Group{Name: "normal", Ears: 3, Found: 3, Stats: []Stat{
		{Figure: "a_value_mm", N: 3, MAE: 0.12345, Bias: -0.05, MaxAbs: 0.4, WithinTarget: 2},
		{Figure: "height_mm", N: 2, MAE: 0.2, Bias: 0.1, MaxAbs: 0.3, Unmeasured: 1},
		{Figure: "canal_radius_mm"},
	}}
	want := []TableRow{
		{Figure: "a_value_mm (mm)", N: 3, MAE: "0.123", Bias: "-0.050", MaxAbs: "0.400", Within: "2/3 (±0.3)"},
		{Figure: "height_mm (mm)", N: 2, MAE: "0.200", Bias: "+0.100", MaxAbs: "0.300", Unmeasured: 1},
	}
	got := Table(g)
	if len(got) != len(want) {
		t.Fatalf("rows %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	var md bytes.Buffer
	WriteMarkdown(&md, "t", []Group{g})
	if !strings.Contains(md.String(), "| a_value_mm (mm) | 3 | 0.123 | -0.050 | 0.400 | 2/3 (±0.3) | 0 |") || strings.Contains(md.String(), "canal_radius") {
		t.Errorf("markdown:\n%s", md.String())
	}
}
