package evaluate

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/dataset"
	"github.com/otoseg/otoseg/metrics"
)

// strayCaseRow is a cases.csv row with the given stray figures (NaN stray:
// empty prediction).
func strayCaseRow(c dataset.Case, ear, structure string, mm float64, pieces int) CaseRow {
	r := metrics.Result{Status: metrics.StatusOK, StrayMM: mm, StrayPieces: pieces, StrayVoxels: 10 * pieces, StrayVolume: 1.5 * float64(pieces)}
	if math.IsNaN(mm) {
		r.Status, r.StrayVolume = metrics.StatusPredEmpty, math.NaN()
	}
	return CaseRow{Case: c, Row: metrics.Row{Ear: ear, Structure: structure, Result: r}}
}

// TestStraySummaryHandComputed: only the left/right labyrinth rows count;
// NaN (empty prediction) is counted as undefined; the farthest ear is named.
func TestStraySummaryHandComputed(t *testing.T) {
	a := dataset.Case{ID: "a", Split: "train", Subgroup: "normal"}
	b := dataset.Case{ID: "b", Split: "external", Subgroup: "pathological"}
	c := dataset.Case{ID: "c", Split: "external", Subgroup: "normal"}
	rows := []CaseRow{
		strayCaseRow(a, metrics.EarBoth, "labyrinth", 20, 3), // case level: ignored
		strayCaseRow(a, metrics.EarLeft, "labyrinth", 0, 0),
		strayCaseRow(a, metrics.EarRight, "labyrinth", 2.5, 0),
		strayCaseRow(a, metrics.EarRight, "cochlea", 30, 1), // not the labyrinth: ignored
		strayCaseRow(b, metrics.EarLeft, "labyrinth", 8, 2),
		strayCaseRow(b, metrics.EarRight, "labyrinth", 0, 0),
		strayCaseRow(c, metrics.EarLeft, "labyrinth", math.NaN(), 0),
		strayCaseRow(c, metrics.EarRight, "labyrinth", 4, 1),
	}
	an := analysis{cfg: Config{ToleranceMM: 1, Resamples: 50}, cases: []dataset.Case{a, b, c}, rows: rows}
	s, err := an.summarize()
	if err != nil {
		t.Fatal(err)
	}
	got := s.Stray
	if got.ThresholdMM != 3 || got.Ears != 5 || got.Undefined != 1 || got.EarsWithStrayPieces != 2 || got.Pieces != 3 || got.VolumeMM3 != 4.5 {
		t.Errorf("stray %+v", got)
	}
	// Defined values 0, 2.5, 8, 0, 4: median 2.5, max 8 (case b, left).
	if got.MaxMM == nil || *got.MaxMM != 8 || got.MedianMM == nil || *got.MedianMM != 2.5 || got.FarthestCase != "b" || got.FarthestEar != "left" {
		t.Errorf("stray max/median/farthest %+v", got)
	}
	byGroup := map[string]Stray{}
	for _, g := range s.StrayByGroup {
		byGroup[g.Stratum+"/"+g.Group] = g.Stray
	}
	if e := byGroup["split/external"]; e.Ears != 3 || e.Undefined != 1 || e.EarsWithStrayPieces != 2 || *e.MaxMM != 8 || *e.MedianMM != 4 {
		t.Errorf("split/external %+v", e)
	}
	if e := byGroup["split/train"]; e.Ears != 2 || e.EarsWithStrayPieces != 0 || *e.MaxMM != 2.5 || e.FarthestCase != "a" || e.FarthestEar != "right" {
		t.Errorf("split/train %+v", e)
	}
	if len(s.StrayByGroup) != len(s.VolumeBiasByGroup) {
		t.Errorf("%d stray groups, %d volume groups: want the same groups", len(s.StrayByGroup), len(s.VolumeBiasByGroup))
	}
	if line := strayLine(got); !strings.HasPrefix(line, "Stray pieces: 2 of 5 ears have a predicted piece more than 3 mm from the reference labyrinth") ||
		!strings.Contains(line, "farthest 8.0 mm (b, left ear)") || !strings.Contains(line, "1 ear(s) with an empty prediction") {
		t.Errorf("report line %q", line)
	}
	js, err := json.Marshal(s) // fails on NaN
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"stray":{"threshold_mm":3,"ears":5,"n_undefined":1,"ears_with_stray_pieces":2,"stray_pieces":3,"stray_mm3":4.5,"max_stray_mm":8,"median_stray_mm":2.5,"farthest_case_id":"b","farthest_ear":"left"}`,
		`"stray_by_group":[{"stratum":"split","group":"external","stray":{`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("summary.json lacks %s", want)
		}
	}
}

// TestStrayNoMeasurableEar: every prediction empty leaves max and median
// null, not 0 mm.
func TestStrayNoMeasurableEar(t *testing.T) {
	a := dataset.Case{ID: "a"}
	s := strayOf([]CaseRow{strayCaseRow(a, metrics.EarLeft, "labyrinth", math.NaN(), 0)})
	if s.Ears != 0 || s.Undefined != 1 || s.MaxMM != nil || s.MedianMM != nil || s.FarthestCase != "" {
		t.Errorf("%+v", s)
	}
	js, _ := json.Marshal(s)
	if !strings.Contains(string(js), `"max_stray_mm":null,"median_stray_mm":null`) {
		t.Errorf("json %s", js)
	}
}

// TestCasesCSVStrayColumnsAppended: the columns before the stray ones are
// byte-identical to the header before issue 13; the stray columns come last
// and read NA where the distance is undefined.
func TestCasesCSVStrayColumnsAppended(t *testing.T) {
	const before = "case_id,ear,structure,status,dice,iou,sensitivity,precision,hd_mm,hd95_mm,assd_mm,nsd,nsd_tolerance_mm," +
		"volume_ref_mm3,volume_pred_mm3,avd_mm3,rvd,ref_voxels,pred_voxels,intersection_voxels,ref_surface_voxels,pred_surface_voxels," +
		"center,split,subgroup,pathology"
	c := dataset.Case{ID: "a", Split: "train"}
	b, err := CasesCSV([]CaseRow{strayCaseRow(c, "left", "labyrinth", 8, 2), strayCaseRow(c, "right", "labyrinth", math.NaN(), 0)})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if want := before + ",stray_mm,stray_pieces,stray_voxels,stray_mm3"; lines[0] != want {
		t.Fatalf("header\n%s\nwant\n%s", lines[0], want)
	}
	if !strings.HasSuffix(lines[1], ",8,2,20,3") || !strings.HasSuffix(lines[2], ",NA,NA,NA,NA") {
		t.Errorf("rows\n%s\n%s", lines[1], lines[2])
	}
}

// TestRunWritesStray: a blob 7.2 mm from the left labyrinth of case d's
// prediction shows up in cases.csv, summary.json and report.html.
func TestRunWritesStray(t *testing.T) {
	cfg, vols := memCohort(t)
	for p, v := range vols {
		if strings.HasSuffix(p, filepath.Join("pred", "d.nii.gz")) {
			// Reference left labyrinth: i 100..108 (0.8 mm), j and k 10..17.
			for k := 12; k < 14; k++ {
				for j := 12; j < 14; j++ {
					for i := 117; i < 119; i++ {
						v.Set(i, j, k, 3)
					}
				}
			}
		}
	}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(cfg.OutDir, "cases.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	found := false
	for _, r := range recs[1:] {
		if r[col["structure"]] != "labyrinth" || r[col["ear"]] == "both" {
			continue
		}
		want := [2]string{"0", "0"}
		if r[col["case_id"]] == "d" && r[col["ear"]] == "left" {
			want, found = [2]string{"7.2", "1"}, true
		}
		mm := r[col["stray_mm"]]
		if x, err := json.Number(mm).Float64(); err != nil || math.Abs(x-mustFloat(want[0])) > 1e-6 || r[col["stray_pieces"]] != want[1] {
			t.Errorf("%s %s: stray_mm %s, stray_pieces %s; want %s, %s", r[col["case_id"]], r[col["ear"]], mm, r[col["stray_pieces"]], want[0], want[1])
		}
	}
	if !found {
		t.Fatal("no labyrinth row for d left")
	}
	s := res.Summary.Stray
	if s.Ears != 8 || s.EarsWithStrayPieces != 1 || s.FarthestCase != "d" || s.FarthestEar != "left" || math.Abs(*s.MaxMM-7.2) > 1e-6 {
		t.Errorf("summary stray %+v", s)
	}
	js, _ := os.ReadFile(filepath.Join(cfg.OutDir, "summary.json"))
	if !bytes.Contains(js, []byte(`"ears_with_stray_pieces": 1`)) || !bytes.Contains(js, []byte(`"stray_by_group": [`)) {
		t.Error("summary.json lacks the stray figures")
	}
	html, _ := os.ReadFile(filepath.Join(cfg.OutDir, "report.html"))
	for _, want := range []string{"Stray pieces (labyrinth, one value per ear)",
		"Stray pieces: 1 of 8 ears have a predicted piece more than 3 mm from the reference labyrinth (1 piece, 1.6 mm³ in all); farthest 7.2 mm (d, left ear)."} {
		if !bytes.Contains(html, []byte(want)) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}

func mustFloat(s string) float64 {
	x, err := json.Number(s).Float64()
	if err != nil {
		panic(err)
	}
	return x
}
