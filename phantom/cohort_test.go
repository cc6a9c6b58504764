package phantom

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeterministicAcrossWorkers generates the same case with 1 and 3
// workers: scheduling must not change a single voxel.
func TestDeterministicAcrossWorkers(t *testing.T) {
	c, _ := CentreByName("E")
	cfg := Config{Centre: c, Seed: 99, Pathology: CochlearImplant, Extent: [3]float64{70, 50, 20}}
	cfg.Workers = 1
	a, la, ma, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Workers = 3
	b, lb, mb, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Data {
		if a.Data[i] != b.Data[i] || la.Data[i] != lb.Data[i] {
			t.Fatalf("voxel %d differs between 1 and 3 workers", i)
		}
	}
	ja, _ := json.Marshal(ma)
	jb, _ := json.Marshal(mb)
	if !bytes.Equal(ja, jb) {
		t.Fatal("meta differs between 1 and 3 workers")
	}
	// a different seed gives a different subject
	cfg.Seed = 100
	d, _, _, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	same := d.Dims == a.Dims
	if same {
		for i := range a.Data {
			if a.Data[i] != d.Data[i] {
				same = false
				break
			}
		}
	}
	if same {
		t.Fatal("seeds 99 and 100 gave the same image")
	}
}

// TestPlan checks the cohort layout: centres in turn, splits, the
// pathological fraction and its cycle through every pathology.
func TestPlan(t *testing.T) {
	specs, err := Plan(CohortOptions{Cases: 20, Seed: 7, Pathological: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var path int
	kinds := map[string]bool{}
	for i, s := range specs {
		if seen[s.ID] {
			t.Fatalf("duplicate id %s", s.ID)
		}
		seen[s.ID] = true
		if s.Centre.Name != Centres[i%len(Centres)].Name {
			t.Errorf("case %d at centre %s", i, s.Centre.Name)
		}
		switch {
		case s.Centre.External && s.Split != "external":
			t.Errorf("%s: external centre case in split %s", s.ID, s.Split)
		case !s.Centre.External && s.Split != "train" && s.Split != "validation":
			t.Errorf("%s: split %s", s.ID, s.Split)
		}
		if s.Pathology != Normal {
			path++
			kinds[s.Pathology] = true
		}
	}
	if path != 10 || len(kinds) != 9 {
		t.Errorf("%d pathological cases of %d kinds, want 10 of all 9", path, len(kinds))
	}
	var val int
	for _, s := range specs {
		if s.Split == "validation" {
			val++
		}
	}
	if val != 4 {
		t.Errorf("%d validation cases, want 4 (one per training centre)", val)
	}
	again, _ := Plan(CohortOptions{Cases: 20, Seed: 7, Pathological: 0.5})
	for i := range specs {
		if specs[i].Seed != again[i].Seed || specs[i].Pathology != again[i].Pathology {
			t.Fatal("Plan is not deterministic")
		}
	}
	for _, bad := range []CohortOptions{
		{Cases: 0}, {Cases: 3, Pathological: 1.5}, {Cases: 3, Centres: []string{"Z"}},
		{Cases: 3, Centres: []string{"A", "a"}}, {Cases: 3, Body: "knee"},
	} {
		if _, err := Plan(bad); err == nil {
			t.Errorf("Plan(%+v) accepted", bad)
		}
	}
}

// TestCohortFiles writes a small cohort twice and compares the bytes, and
// checks that the manifest agrees with the sidecars.
func TestCohortFiles(t *testing.T) {
	// the built-in E and C protocols on smaller fields, to keep the test short
	e, _ := CentreByName("E")
	c, _ := CentreByName("C")
	e.Extent = [3]float64{130, 60, 24}
	c.Extent = [3]float64{30, 30, 24}
	c.Slice = []float64{0.5}
	opt := CohortOptions{Cases: 2, Seed: 3, Sites: []Centre{e, c}, Pathological: 0.5}
	d1, d2 := t.TempDir(), t.TempDir()
	var calls int
	rows, err := Cohort(context.Background(), d1, opt, func(done, total int) { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 || len(rows) != 2 {
		t.Fatalf("%d progress calls, %d rows", calls, len(rows))
	}
	opt.Workers = 1
	if _, err := Cohort(context.Background(), d2, opt, nil); err != nil {
		t.Fatal(err)
	}
	var files []string
	filepath.Walk(d1, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			r, _ := filepath.Rel(d1, p)
			files = append(files, r)
		}
		return nil
	})
	if len(files) != 2*3+1 {
		t.Fatalf("files %v", files)
	}
	for _, f := range files {
		a, _ := os.ReadFile(filepath.Join(d1, f))
		b, err := os.ReadFile(filepath.Join(d2, f))
		if err != nil || !bytes.Equal(a, b) {
			t.Fatalf("%s differs between two runs with the same seed", f)
		}
		if strings.HasPrefix(filepath.Base(f), ".") {
			t.Errorf("left-over temporary file %s", f)
		}
	}
	fh, _ := os.Open(filepath.Join(d1, "manifest.csv"))
	defer fh.Close()
	recs, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := "case_id,image,label,center,split,subgroup,pathology,spacing_mm,manual_seconds"
	if got := strings.Join(recs[0][:9], ","); got != want {
		t.Fatalf("manifest header %q", got)
	}
	for _, r := range recs[1:] {
		var m Meta
		b, err := os.ReadFile(filepath.Join(d1, "meta", r[0]+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if m.Pathology != r[6] || m.Centre.Name != r[3] || m.Split != r[4] || !m.ManualSecondsSimulated {
			t.Errorf("row %v disagrees with sidecar (%s %s %s)", r, m.Pathology, m.Centre.Name, m.Split)
		}
		if (r[5] == "pathological") != (r[6] != Normal) {
			t.Errorf("row %v: subgroup and pathology disagree", r)
		}
		if r[3] == "E" && r[4] != "external" {
			t.Errorf("row %v: centre E is external", r)
		}
		if r[3] == "C" && r[9] != "left" && r[9] != "right" {
			t.Errorf("row %v: centre C images one ear", r)
		}
	}
}

// TestNonEar checks the other-body phantom: no labels, no inner ear, but
// bone and soft tissue like any CT.
func TestNonEar(t *testing.T) {
	c, _ := CentreByName("E")
	img, lab, m, err := NonEar(NonEarConfig{Seed: 1, Centre: c, Spacing: [3]float64{1, 1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range lab.Data {
		if v != 0 {
			t.Fatal("non-ear phantom has labels")
		}
	}
	var bone, soft int
	for _, v := range img.Data {
		if v > 700 {
			bone++
		}
		if v > -200 && v < 200 {
			soft++
		}
	}
	if bone == 0 || soft < len(img.Data)/4 || m.Body != BodyOther || m.EarsInFOV != "none" {
		t.Errorf("bone %d, soft %d of %d voxels, body %q, ears %q", bone, soft, len(img.Data), m.Body, m.EarsInFOV)
	}
}

// TestBadConfig checks that impossible configurations are errors.
func TestBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Pathology: "mumps"}, {Severity: 2}, {Side: "middle"}, {Spacing: [3]float64{0.01, 1, 1}},
		{Centre: Centre{Name: "X"}}, {FOV: "knee"},
	} {
		if _, _, _, err := Generate(cfg); err == nil {
			t.Errorf("Generate(%+v) accepted", cfg)
		}
	}
}

// TestBothEarsInHeadFOV checks that a whole-head centre images two ears
// 90-100 mm apart and a crop centre one.
func TestBothEarsInHeadFOV(t *testing.T) {
	b, _ := CentreByName("B")
	_, lab, m, err := Generate(Config{Centre: b, Seed: 4, Spacing: [3]float64{0.9, 0.9, 1.5}, Extent: [3]float64{230, 230, 40}, Clean: true})
	if err != nil {
		t.Fatal(err)
	}
	if m.EarsInFOV != "left+right" {
		t.Fatalf("head FOV has ears %q", m.EarsInFOV)
	}
	d := vec3(m.Ears[0].Centre).sub(m.Ears[1].Centre).norm()
	if d < 85 || d > 105 {
		t.Errorf("ears %.1f mm apart, want 90-100", d)
	}
	if lab.DType.String() != "uint8" {
		t.Errorf("label dtype %s", lab.DType)
	}
}
