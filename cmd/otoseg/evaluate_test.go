package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/dataset"

	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/volume"
)

// -evaluate.demo DIR keeps a larger synthetic cohort and its report in DIR
// (how docs/report.png was made; see docs/evaluate.md).
var demoDir = flag.String("evaluate.demo", "", "write a 40-case synthetic cohort and its report into this directory")

// cohortSpec describes a synthetic cohort of head CT label maps.
type cohortSpec struct {
	cases   int
	dims    [3]int
	spacing [3]float64
	seed    uint64
}

// labyrinth paints a crude labyrinth (cochlea, vestibule, canals as three
// ellipsoids) centred at LPS (cx, cy, cz) mm, scaled by s, shifted by
// (dx, dy, dz) mm, each radius grown by grow mm; mirror flips it for the
// right ear.
func labyrinth(v *volume.Volume, cx, cy, cz, s float64, d [3]float64, grow float64, mirror bool, skip int) {
	parts := []struct {
		off, rad [3]float64
	}{
		{[3]float64{-3, 2, -1}, [3]float64{2.6, 2.4, 2.0}},  // cochlea
		{[3]float64{1, -1, 0}, [3]float64{1.8, 2.2, 1.8}},   // vestibule
		{[3]float64{4, -3, 2.5}, [3]float64{1.4, 2.0, 3.2}}, // canals
	}
	for l, p := range parts {
		if l+1 == skip {
			continue
		}
		ox := p.off[0]
		if mirror {
			ox = -ox
		}
		c := [3]float64{cx + s*ox + d[0], cy + s*p.off[1] + d[1], cz + s*p.off[2] + d[2]}
		r := [3]float64{s*p.rad[0] + grow, s*p.rad[1] + grow, s*p.rad[2] + grow}
		lo := v.ContinuousIndex([3]float64{c[0] - r[0], c[1] - r[1], c[2] - r[2]})
		hi := v.ContinuousIndex([3]float64{c[0] + r[0], c[1] + r[1], c[2] + r[2]})
		for k := max(0, int(math.Min(lo[2], hi[2]))-1); k <= min(v.Dims[2]-1, int(math.Max(lo[2], hi[2]))+1); k++ {
			for j := max(0, int(math.Min(lo[1], hi[1]))-1); j <= min(v.Dims[1]-1, int(math.Max(lo[1], hi[1]))+1); j++ {
				for i := max(0, int(math.Min(lo[0], hi[0]))-1); i <= min(v.Dims[0]-1, int(math.Max(lo[0], hi[0]))+1); i++ {
					w := v.World(float64(i), float64(j), float64(k))
					q := 0.0
					for a := 0; a < 3; a++ {
						q += (w[a] - c[a]) * (w[a] - c[a]) / (r[a] * r[a])
					}
					if q <= 1 && v.At(i, j, k) == 0 {
						v.Set(i, j, k, float32(l+1))
					}
				}
			}
		}
	}
}

// writeCohort writes a manifest, references, predictions, sidecars and a
// ratings file into dir. Pathological and external cases are segmented less
// well, so the report has something to show.
func writeCohort(t testing.TB, dir string, spec cohortSpec) {
	t.Helper()
	rng := rand.New(rand.NewPCG(spec.seed, 99))
	for _, d := range []string{"labels", "pred"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	g := volume.NewGeometry(spec.dims, spec.spacing)
	// Centre the head on x = 0 (LPS), as scanners do.
	g.Origin = [3]float64{-float64(spec.dims[0]-1) * spec.spacing[0] / 2, -20, -15}
	var man, ratings bytes.Buffer
	man.WriteString("case_id,image,label,center,split,subgroup,pathology,spacing_mm,manual_seconds\n")
	ratings.WriteString("case_id,reader,likert,comment,seconds_spent,rated_at\n")
	centres := []string{"A", "B"}
	for n := 0; n < spec.cases; n++ {
		id := fmt.Sprintf("case%03d", n)
		split := []string{"train", "train", "validation", "external"}[n%4]
		centre := centres[n%2]
		if split == "external" {
			centre = "C"
		}
		sub, path := "normal", ""
		if n%3 == 2 {
			sub, path = "pathological", []string{"incomplete partition", "cochlear hypoplasia"}[n%2]
		}
		ref, pred := volume.New(g, volume.Uint8), volume.New(g, volume.Uint8)
		quality := 1.0
		if sub == "pathological" {
			quality += 1.2
		}
		if split == "external" {
			quality += 0.8
		}
		oneEar := n == 5 // a temporal-bone-like case with only the left ear labelled
		for _, side := range []float64{1, -1} {
			if oneEar && side < 0 {
				continue
			}
			s := 1 + 0.1*rng.NormFloat64()
			cx := side * (38 + 2*rng.NormFloat64())
			labyrinth(ref, cx, 0, 0, s, [3]float64{}, 0, side < 0, 0)
			d := [3]float64{quality * 0.2 * rng.NormFloat64(), quality * 0.2 * rng.NormFloat64(), quality * 0.2 * rng.NormFloat64()}
			skip := 0
			if n == 7 && side < 0 {
				skip = 3 // the network missed the right canals
			}
			labyrinth(pred, cx, 0, 0, s, d, quality*0.12*rng.NormFloat64(), side < 0, skip)
		}
		label := filepath.Join("labels", id+".nii.gz")
		if err := imageio.Write(filepath.Join(dir, label), ref); err != nil {
			t.Fatal(err)
		}
		if err := imageio.Write(filepath.Join(dir, "pred", id+".nii.gz"), pred); err != nil {
			t.Fatal(err)
		}
		auto := 35 + 10*rng.Float64()
		side, _ := json.Marshal(map[string]any{"case_id": id, "seconds": auto})
		if err := os.WriteFile(filepath.Join(dir, "pred", id+".json"), side, 0o644); err != nil {
			t.Fatal(err)
		}
		manual := 1200 + 900*rng.Float64()*quality
		fmt.Fprintf(&man, "%s,images/%s.nii.gz,%s,%s,%s,%s,%s,0.4x0.4x0.6,%.0f\n", id, id, filepath.ToSlash(label), centre, split, sub, path, manual)
		for _, reader := range []string{"r1", "r2", "r3"} {
			l := 1 + int(math.Round(0.7*(quality-1)+0.6*rng.NormFloat64()))
			l = min(4, max(1, l))
			fmt.Fprintf(&ratings, "%s,%s,%d,,%.0f,2026-01-%02dT10:00:00Z\n", id, reader, l, 20+40*rng.Float64(), 1+n%28)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.csv"), man.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ratings.csv"), ratings.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func execute(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String() + errb.String(), err
}

func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// TestEvaluateKnownOverlap runs the command on label maps whose metrics are
// known by hand: a 10x10x10 reference box and a prediction shifted by 2
// voxels along x (spacing 0.5 x 0.8 x 1.2 mm) in the patient's left ear.
func TestEvaluateKnownOverlap(t *testing.T) {
	dir := t.TempDir()
	g := volume.NewGeometry([3]int{40, 30, 30}, [3]float64{0.5, 0.8, 1.2})
	g.Origin = [3]float64{5, 0, 0} // LPS x > 0: the left ear
	ref, pred := volume.New(g, volume.Uint8), volume.New(g, volume.Uint8)
	for k := 10; k < 20; k++ {
		for j := 10; j < 20; j++ {
			for i := 10; i < 20; i++ {
				ref.Set(i, j, k, 1)
				pred.Set(i+2, j, k, 1)
			}
		}
	}
	for _, p := range []struct {
		name string
		v    *volume.Volume
	}{{"ref.nii.gz", ref}, {"pred/c1.nrrd", pred}} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p.name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := imageio.Write(filepath.Join(dir, p.name), p.v); err != nil {
			t.Fatal(err)
		}
	}
	manifest := "case_id,image,label,center,split,subgroup,pathology,spacing_mm,manual_seconds\nc1,img.nii.gz,ref.nii.gz,A,train,normal,,0.5x0.8x1.2,600\n"
	if err := os.WriteFile(filepath.Join(dir, "m.csv"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "t.csv"), []byte("case_id,seconds\nc1,30\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "report")
	if msg, err := execute(t, "evaluate", "--manifest", filepath.Join(dir, "m.csv"), "--pred", filepath.Join(dir, "pred"),
		"--out", out, "--times", filepath.Join(dir, "t.csv"), "--tolerance", "0.5"); err != nil {
		t.Fatalf("evaluate: %v\n%s", err, msg)
	}
	rows := readCSV(t, filepath.Join(out, "cases.csv"))
	if len(rows) != 8 { // both + left, 4 structures each
		t.Fatalf("%d rows, want 8", len(rows))
	}
	get := func(ear, structure string) map[string]string {
		for _, r := range rows {
			if r["ear"] == ear && r["structure"] == structure {
				return r
			}
		}
		t.Fatalf("no row %s/%s", ear, structure)
		return nil
	}
	// Overlap 8x10x10 of 1000 voxels each. Surfaces: the x faces move by
	// 1 mm, so distances from the shifted x faces are 1 mm, and HD = 1 mm.
	// Pooled distances: each 10x10x10 box has 488 surface voxels; the
	// voxels whose nearest other-surface voxel is 1 mm away are the two
	// x = const layers that do not coincide... computed below exactly.
	want := map[string]float64{"dice": 0.8, "iou": 800.0 / 1200, "sensitivity": 0.8, "precision": 0.8, "hd_mm": 1,
		"volume_ref_mm3": 1000 * 0.48, "volume_pred_mm3": 1000 * 0.48}
	for _, ear := range []string{"both", "left"} {
		for _, st := range []string{"cochlea", "labyrinth"} {
			r := get(ear, st)
			for k, w := range want {
				got, err := strconv.ParseFloat(r[k], 64)
				// NIfTI stores spacing as float32 (0.8 mm reads back as 0.800000012).
				if err != nil || math.Abs(got-w) > 1e-6*math.Max(1, w) {
					t.Errorf("%s/%s %s = %q, want %g", ear, st, k, r[k], w)
				}
			}
		}
	}
	// vestibule is empty in both: flagged, not NaN.
	if v := get("left", "vestibule"); v["status"] != "both_empty" || v["dice"] != "1" || v["hd_mm"] != "0" {
		t.Errorf("vestibule row %v", v)
	}
	var s map[string]any
	b, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "NaN") {
		t.Error("summary.json contains NaN")
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	tm := s["time"].(map[string]any)
	if tm["speedup_of_medians"].(float64) != 20 {
		t.Errorf("speed-up %v, want 20", tm["speedup_of_medians"])
	}
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(html, []byte("data:image/png;base64,")) || bytes.Contains(html, []byte(`src="http`)) || bytes.Contains(html, []byte(`href="http`)) {
		t.Error("report.html is not self-contained or has no embedded plot")
	}
}

func TestEvaluateErrors(t *testing.T) {
	dir := t.TempDir()
	g := volume.NewGeometry([3]int{20, 20, 20}, [3]float64{0.5, 0.5, 0.5})
	ref := volume.New(g, volume.Uint8)
	ref.Set(5, 5, 5, 1)
	g2 := g
	g2.Spacing[2] = 0.7
	pred := volume.New(g2, volume.Uint8)
	if err := imageio.Write(filepath.Join(dir, "ref.nii"), ref); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "pred"), 0o755)
	if err := imageio.Write(filepath.Join(dir, "pred", "c1.nii"), pred); err != nil {
		t.Fatal(err)
	}
	m := "case_id,image,label,center,split,subgroup,pathology,spacing_mm,manual_seconds\nc1,i.nii,ref.nii,A,train,normal,,,\n"
	os.WriteFile(filepath.Join(dir, "m.csv"), []byte(m), 0o644)
	out := filepath.Join(dir, "out")
	_, err := execute(t, "evaluate", "--manifest", filepath.Join(dir, "m.csv"), "--pred", filepath.Join(dir, "pred"), "--out", out)
	if err == nil || !strings.Contains(err.Error(), "c1") || !strings.Contains(err.Error(), "grid differs") {
		t.Fatalf("mismatched geometry: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "cases.csv")); err == nil {
		t.Error("cases.csv written despite the error")
	}
	m2 := m + "c2,i.nii,ref.nii,A,train,normal,,,\n"
	os.WriteFile(filepath.Join(dir, "m2.csv"), []byte(m2), 0o644)
	_, err = execute(t, "evaluate", "--manifest", filepath.Join(dir, "m2.csv"), "--pred", filepath.Join(dir, "pred"), "--out", out)
	if err == nil || !strings.Contains(err.Error(), "c2") {
		t.Fatalf("missing prediction: %v", err)
	}
	if _, err := execute(t, "evaluate", "--manifest", filepath.Join(dir, "m.csv"), "--pred", filepath.Join(dir, "pred")); err == nil {
		t.Fatal("missing --out accepted")
	}
}

// TestEvaluateCohort runs a small synthetic cohort end to end with sidecar
// times and three readers.
func TestEvaluateCohort(t *testing.T) {
	dir := t.TempDir()
	spec := cohortSpec{cases: 12, dims: [3]int{200, 50, 40}, spacing: [3]float64{0.5, 0.5, 0.6}, seed: 3}
	if *demoDir != "" {
		dir = *demoDir
		spec = cohortSpec{cases: 40, dims: [3]int{256, 96, 64}, spacing: [3]float64{0.4, 0.4, 0.6}, seed: 3}
	}
	writeCohort(t, dir, spec)
	out := filepath.Join(dir, "report")
	msg, err := execute(t, "evaluate", "-q", "--manifest", filepath.Join(dir, "manifest.csv"), "--pred", filepath.Join(dir, "pred"),
		"--out", out, "--ratings", filepath.Join(dir, "ratings.csv"))
	if err != nil {
		t.Fatalf("evaluate: %v\n%s", err, msg)
	}
	rows := readCSV(t, filepath.Join(out, "cases.csv"))
	// 11 two-ear cases x 3 ears + 1 one-ear case x 2 ears, 4 structures each.
	if want := (3*(spec.cases-1) + 2) * 4; len(rows) != want {
		t.Fatalf("%d rows, want %d", len(rows), want)
	}
	var s struct {
		Time struct {
			Paired int `json:"paired"`
		} `json:"time"`
		Likert struct {
			Agreement []struct {
				Kind  string   `json:"kind"`
				Kappa *float64 `json:"kappa"`
			} `json:"agreement"`
		} `json:"likert"`
		Flags []struct {
			CaseID                 string `json:"case_id"`
			Ear, Structure, Status string
		} `json:"flags"`
	}
	b, _ := os.ReadFile(filepath.Join(out, "summary.json"))
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.Time.Paired != spec.cases {
		t.Errorf("paired times %d, want %d", s.Time.Paired, spec.cases)
	}
	if len(s.Likert.Agreement) != 7 { // 3 pairs x 2 weightings + Fleiss
		t.Errorf("%d agreement rows, want 7", len(s.Likert.Agreement))
	}
	found := false
	for _, f := range s.Flags {
		if f.CaseID == "case007" && f.Ear == "right" && f.Structure == "canals" && f.Status == "pred_empty" {
			found = true
		}
	}
	if !found {
		t.Errorf("missed canals of case007 not flagged: %+v", s.Flags)
	}
	for _, name := range []string{"report.html", "dice_by_group.png", "dice_by_group.svg", "bland_altman_volume.png", "time.svg", "likert.png"} {
		if st, err := os.Stat(filepath.Join(out, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Deterministic: a second run gives identical files.
	out2 := filepath.Join(dir, "report2")
	if msg, err := execute(t, "evaluate", "-q", "--manifest", filepath.Join(dir, "manifest.csv"), "--pred", filepath.Join(dir, "pred"),
		"--out", out2, "--ratings", filepath.Join(dir, "ratings.csv"), "--workers", "1"); err != nil {
		t.Fatalf("second run: %v\n%s", err, msg)
	}
	for _, name := range []string{"cases.csv", "summary.json"} {
		a, _ := os.ReadFile(filepath.Join(out, name))
		b, _ := os.ReadFile(filepath.Join(out2, name))
		if !bytes.Equal(a, bytes.ReplaceAll(b, []byte("report2"), []byte("report"))) {
			t.Errorf("%s differs between runs", name)
		}
	}
}

// TestEvaluatePair evaluates one reference/prediction pair without a
// manifest: two disjoint one-voxel masks 3 voxels apart along z (1.5 mm).
func TestEvaluatePair(t *testing.T) {
	dir := t.TempDir()
	g := volume.NewGeometry([3]int{12, 12, 12}, [3]float64{0.4, 0.4, 0.5})
	g.Origin = [3]float64{-30, 0, 0} // LPS x < 0: the right ear
	ref, pred := volume.New(g, volume.Uint8), volume.New(g, volume.Uint8)
	ref.Set(5, 5, 4, 2)
	pred.Set(5, 5, 7, 2)
	rp, pp := filepath.Join(dir, "ear7.nii.gz"), filepath.Join(dir, "ear7_pred.mha")
	if err := imageio.Write(rp, ref); err != nil {
		t.Fatal(err)
	}
	if err := imageio.Write(pp, pred); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "o")
	if msg, err := execute(t, "evaluate", "--ref", rp, "--pred", pp, "--out", out); err != nil {
		t.Fatalf("evaluate: %v\n%s", err, msg)
	}
	rows := readCSV(t, filepath.Join(out, "cases.csv"))
	if len(rows) != 8 {
		t.Fatalf("%d rows, want 8 (both + right)", len(rows))
	}
	for _, r := range rows {
		if r["case_id"] != "ear7" || (r["ear"] != "both" && r["ear"] != "right") {
			t.Fatalf("row %v", r)
		}
		if r["structure"] == "vestibule" && (r["dice"] != "0" || r["hd_mm"] != "1.5" || r["hd95_mm"] != "1.5" || r["assd_mm"] != "1.5" || r["nsd"] != "0") {
			t.Errorf("vestibule row %v", r)
		}
	}
	if _, err := execute(t, "evaluate", "--ref", rp, "--manifest", rp, "--pred", pp, "--out", out); err == nil {
		t.Error("--ref with --manifest accepted")
	}
}

// TestEvaluateAgainstScipy: testdata/evaluate_check.py writes label maps with
// nibabel (anisotropic spacings, RAS affines with flipped axes, two heads
// and a one-ear crop, a missed structure) and the rows cases.csv must hold,
// computed with numpy/scipy; the command's output must match every row to
// 1e-6 (relative above 1). Fails, never skips, without python3, nibabel or
// scipy.
func TestEvaluateAgainstScipy(t *testing.T) {
	dir := t.TempDir()
	if b, err := exec.Command("/usr/bin/python3", "testdata/evaluate_check.py", dir).CombinedOutput(); err != nil {
		t.Fatalf("testdata/evaluate_check.py (needs /usr/bin/python3 with numpy, scipy and nibabel): %v\n%s", err, b)
	}
	out := filepath.Join(dir, "out")
	if msg, err := execute(t, "evaluate", "-q", "--manifest", filepath.Join(dir, "manifest.csv"), "--pred", filepath.Join(dir, "pred"), "--out", out); err != nil {
		t.Fatalf("evaluate: %v\n%s", err, msg)
	}
	want := readCSV(t, filepath.Join(dir, "expected.csv"))
	got := map[string]map[string]string{}
	for _, r := range readCSV(t, filepath.Join(out, "cases.csv")) {
		got[r["case_id"]+"/"+r["ear"]+"/"+r["structure"]] = r
	}
	if len(want) != 32 || len(got) != len(want) {
		t.Fatalf("%d rows, scipy expects %d (32)", len(got), len(want))
	}
	for _, w := range want {
		key := w["case_id"] + "/" + w["ear"] + "/" + w["structure"]
		g, ok := got[key]
		if !ok {
			t.Errorf("no row %s", key)
			continue
		}
		for col, wv := range w {
			if col == "case_id" || col == "ear" || col == "structure" {
				continue
			}
			if col == "status" || wv == "NA" {
				if g[col] != wv {
					t.Errorf("%s %s = %q, scipy %q", key, col, g[col], wv)
				}
				continue
			}
			a, err1 := strconv.ParseFloat(g[col], 64)
			b, err2 := strconv.ParseFloat(wv, 64)
			if err1 != nil || err2 != nil || math.Abs(a-b) > 1e-6*math.Max(1, math.Abs(b)) {
				t.Errorf("%s %s = %q, scipy %q", key, col, g[col], wv)
			}
		}
	}
}

// TestEvaluateMinimalManifest: a user with only case_id,image,label gets a
// full report, with the CT under the pictures of the worst ears, and a
// cohort without centres or splits reads "(none)".
func TestEvaluateMinimalManifest(t *testing.T) {
	dir := t.TempDir()
	g := volume.NewGeometry([3]int{200, 50, 40}, [3]float64{0.5, 0.5, 0.6})
	g.Origin = [3]float64{-49.75, -20, -15}
	for _, d := range []string{"ct", "labels", "pred"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	man := "case_id,image,label\n"
	for n, id := range []string{"ear01", "ear02", "ear03"} {
		ref, pred, ct := volume.New(g, volume.Uint8), volume.New(g, volume.Uint8), volume.New(g, volume.Int16)
		for i := range ct.Data {
			ct.Data[i] = 1500 // bone
		}
		for _, side := range []float64{1, -1} {
			labyrinth(ref, side*38, 0, 0, 1, [3]float64{}, 0, side < 0, 0)
			labyrinth(pred, side*38, 0, 0, 1, [3]float64{0.5 * float64(n), 0, 0}, 0.2, side < 0, 0)
		}
		for p, v := range map[string]*volume.Volume{"ct/" + id + ".nii.gz": ct, "labels/" + id + ".nii.gz": ref, "pred/" + id + ".nii.gz": pred} {
			if err := imageio.Write(filepath.Join(dir, p), v); err != nil {
				t.Fatal(err)
			}
		}
		man += id + ",ct/" + id + ".nii.gz,labels/" + id + ".nii.gz\n"
	}
	os.WriteFile(filepath.Join(dir, "manifest.csv"), []byte(man), 0o644)
	out := filepath.Join(dir, "report")
	if msg, err := execute(t, "evaluate", "--manifest", filepath.Join(dir, "manifest.csv"), "--pred", filepath.Join(dir, "pred"), "--out", out, "-q"); err != nil {
		t.Fatalf("evaluate: %v\n%s", err, msg)
	}
	if rows := readCSV(t, filepath.Join(out, "cases.csv")); len(rows) != 3*3*4 || rows[0]["split"] != "" {
		t.Fatalf("%d rows, first %v", len(rows), rows[0])
	}
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<h2>Cohort</h2>", "<td>(none)</td>", "6 (3 L, 3 R)", "<h2>Lowest-Dice ears</h2>", "ICC(2,1)"} {
		if !bytes.Contains(html, []byte(want)) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if bytes.Contains(html, []byte("no CT underneath")) {
		t.Error("the CT was not read for the pictures")
	}
}

// TestEvaluateHelpDescribesManifest: --help names every manifest column
// evaluate reads, so a user need not read the source to write one.
func TestEvaluateHelpDescribesManifest(t *testing.T) {
	out, err := execute(t, "evaluate", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, col := range append(append([]string{}, dataset.RequiredColumns...), dataset.OptionalColumns...) {
		if !strings.Contains(out, "\n  "+col+" ") {
			t.Errorf("evaluate --help does not describe manifest column %q", col)
		}
	}
	if !strings.Contains(out, "case_id,image,label\n  ear01,") {
		t.Error("evaluate --help has no minimal manifest example")
	}
}
