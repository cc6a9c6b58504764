package metrics

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/volume"
)

// fixtureFile mirrors testdata/fixtures.json (testdata/make_fixtures.py).
type fixtureFile struct {
	ToleranceMM float64 `json:"tolerance_mm"`
	Binary      []struct {
		Name        string
		Dims        [3]int
		Spacing     [3]float64
		RefRuns     [][2]int `json:"ref_runs"`
		PredRuns    [][2]int `json:"pred_runs"`
		Scipy       expected
		Plastimatch *struct {
			Dice, Sensitivity float64
			HDBoundary        float64 `json:"hd_boundary"`
		}
	}
	Labelmap struct {
		Dims      [3]int
		Spacing   [3]float64
		Origin    [3]float64
		Direction [3][3]float64
		RefRuns   map[string][][2]int `json:"ref_runs"`
		PredRuns  map[string][][2]int `json:"pred_runs"`
		PlaneX    float64             `json:"plane_x"`
		Rows      []struct {
			Ear, Structure string
			expected
		}
	}
}

// expected holds numpy/scipy values; pointers are absent for empty masks.
type expected struct {
	RefVoxels    int      `json:"ref_voxels"`
	PredVoxels   int      `json:"pred_voxels"`
	Intersection int      `json:"intersection"`
	VolumeRef    float64  `json:"volume_ref"`
	VolumePred   float64  `json:"volume_pred"`
	Dice         *float64 `json:"dice"`
	IoU          *float64 `json:"iou"`
	Sensitivity  *float64 `json:"sensitivity"`
	Precision    *float64 `json:"precision"`
	HD           *float64 `json:"hd"`
	HD95         *float64 `json:"hd95"`
	ASSD         *float64 `json:"assd"`
	NSD          *float64 `json:"nsd"`
	RefSurface   int      `json:"ref_surface"`
	PredSurface  int      `json:"pred_surface"`
	StrayMM      *float64 `json:"stray_mm"`
	StrayPieces  *int     `json:"stray_pieces"`
	StrayVoxels  *int     `json:"stray_voxels"`
}

func maskFromRuns(t *testing.T, dims [3]int, sp [3]float64, runs [][2]int) Mask {
	t.Helper()
	m := NewMask(dims, sp)
	for _, r := range runs {
		if r[0] < 0 || r[1] < 0 || r[0]+r[1] > len(m.Data) {
			t.Fatalf("run %v outside %v", r, dims)
		}
		for p := r[0]; p < r[0]+r[1]; p++ {
			m.Data[p] = true
		}
	}
	return m
}

// compareExpected checks r against the scipy/numpy values: counts exactly,
// overlap and distances to 1e-6 (scipy's EDT is exact, as is ours).
func compareExpected(t *testing.T, name string, r Result, e expected) {
	t.Helper()
	if r.RefVoxels != e.RefVoxels || r.PredVoxels != e.PredVoxels || r.Intersection != e.Intersection {
		t.Errorf("%s: counts ref %d pred %d inter %d, numpy %d %d %d", name, r.RefVoxels, r.PredVoxels, r.Intersection, e.RefVoxels, e.PredVoxels, e.Intersection)
	}
	check := func(what string, got float64, want *float64, tol float64) {
		if want == nil {
			return
		}
		if !(math.Abs(got-*want) <= tol) {
			t.Errorf("%s: %s = %.9g, scipy %.9g", name, what, got, *want)
		}
	}
	check("volume_ref", r.VolumeRef, &e.VolumeRef, 1e-6)
	check("volume_pred", r.VolumePred, &e.VolumePred, 1e-6)
	check("dice", r.Dice, e.Dice, 1e-6)
	check("iou", r.IoU, e.IoU, 1e-6)
	check("sensitivity", r.Sensitivity, e.Sensitivity, 1e-6)
	check("precision", r.Precision, e.Precision, 1e-6)
	check("hd", r.HD, e.HD, 1e-6)
	check("hd95", r.HD95, e.HD95, 1e-6)
	check("assd", r.ASSD, e.ASSD, 1e-6)
	check("nsd", r.NSD, e.NSD, 1e-6)
	if e.HD != nil && (r.RefSurface != e.RefSurface || r.PredSurface != e.PredSurface) {
		t.Errorf("%s: surface voxels %d/%d, scipy %d/%d", name, r.RefSurface, r.PredSurface, e.RefSurface, e.PredSurface)
	}
	check("stray_mm", r.StrayMM, e.StrayMM, 1e-6)
	if e.StrayPieces != nil && e.StrayVoxels != nil && (r.StrayPieces != *e.StrayPieces || r.StrayVoxels != *e.StrayVoxels) {
		t.Errorf("%s: %d stray pieces of %d voxels, scipy %d of %d", name, r.StrayPieces, r.StrayVoxels, *e.StrayPieces, *e.StrayVoxels)
	}
}

func checkFixtures(t *testing.T, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f fixtureFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(f.Binary) < 10 || len(f.Labelmap.Rows) != 12 {
		t.Fatalf("%s: incomplete (%d binary cases, %d label-map rows)", path, len(f.Binary), len(f.Labelmap.Rows))
	}
	plast := 0
	for _, c := range f.Binary {
		ref := maskFromRuns(t, c.Dims, c.Spacing, c.RefRuns)
		pred := maskFromRuns(t, c.Dims, c.Spacing, c.PredRuns)
		r, err := Compare(ref, pred, f.ToleranceMM)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		compareExpected(t, c.Name, r, c.Scipy)
		if p := c.Plastimatch; p != nil {
			plast++
			// plastimatch prints 6 decimals.
			if math.Abs(r.Dice-p.Dice) > 1e-6 || math.Abs(r.Sensitivity-p.Sensitivity) > 1e-6 {
				t.Errorf("%s: dice %.7f sensitivity %.7f, plastimatch %.6f %.6f", c.Name, r.Dice, r.Sensitivity, p.Dice, p.Sensitivity)
			}
			halfDiag := 0.5 * math.Sqrt(c.Spacing[0]*c.Spacing[0]+c.Spacing[1]*c.Spacing[1]+c.Spacing[2]*c.Spacing[2])
			if math.Abs(r.HD-p.HDBoundary) > halfDiag {
				t.Errorf("%s: HD %.6f mm, plastimatch %.6f mm (allowed %.3f)", c.Name, r.HD, p.HDBoundary, halfDiag)
			}
		}
		// Status of the empty cases.
		want := StatusOK
		switch {
		case c.Scipy.RefVoxels == 0 && c.Scipy.PredVoxels == 0:
			want = StatusBothEmpty
		case c.Scipy.RefVoxels == 0:
			want = StatusRefEmpty
		case c.Scipy.PredVoxels == 0:
			want = StatusPredEmpty
		}
		if r.Status != want {
			t.Errorf("%s: status %s, want %s", c.Name, r.Status, want)
		}
	}
	if plast < 8 {
		t.Errorf("only %d cases carry plastimatch values", plast)
	}

	lm := f.Labelmap
	g := volume.Geometry{Dims: lm.Dims, Spacing: lm.Spacing, Origin: lm.Origin, Direction: lm.Direction}
	ref, pred := volume.New(g, volume.Uint8), volume.New(g, volume.Uint8)
	for _, l := range []string{"1", "2", "3"} {
		for _, pair := range []struct {
			v    *volume.Volume
			runs [][2]int
		}{{ref, lm.RefRuns[l]}, {pred, lm.PredRuns[l]}} {
			m := maskFromRuns(t, lm.Dims, lm.Spacing, pair.runs)
			for p, on := range m.Data {
				if on {
					pair.v.Data[p] = float32(l[0] - '0')
				}
			}
		}
	}
	res, err := Evaluate(ref, pred, Options{ToleranceMM: f.ToleranceMM})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Ears.Split || math.Abs(res.Ears.PlaneX-lm.PlaneX) > 1e-9 {
		t.Fatalf("ears %+v, want split at %g", res.Ears, lm.PlaneX)
	}
	if len(res.Rows) != len(lm.Rows) {
		t.Fatalf("%d rows, want %d", len(res.Rows), len(lm.Rows))
	}
	for i, e := range lm.Rows {
		got := res.Rows[i]
		if got.Ear != e.Ear || got.Structure != e.Structure {
			t.Fatalf("row %d is %s/%s, want %s/%s", i, got.Ear, got.Structure, e.Ear, e.Structure)
		}
		compareExpected(t, "labelmap "+e.Ear+"/"+e.Structure, got.Result, e.expected)
	}
}

// TestCommittedFixtures compares with the committed scipy and plastimatch
// values.
func TestCommittedFixtures(t *testing.T) { checkFixtures(t, "testdata/fixtures.json") }

// TestLiveFixtures reruns the fixture script (scipy, nibabel and
// plastimatch); it fails, never skips, when they are missing.
func TestLiveFixtures(t *testing.T) {
	if _, err := exec.LookPath("plastimatch"); err != nil {
		t.Fatalf("plastimatch is required (apt-get install plastimatch): %v", err)
	}
	out := filepath.Join(t.TempDir(), "live.json")
	cmd := exec.Command("/usr/bin/python3", "testdata/make_fixtures.py", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make_fixtures.py (needs /usr/bin/python3 with numpy, scipy, nibabel and plastimatch): %v\n%s", err, b)
	}
	checkFixtures(t, out)
}

func box(dims [3]int, sp [3]float64, lo, hi [3]int) Mask {
	m := NewMask(dims, sp)
	for k := lo[2]; k < hi[2]; k++ {
		for j := lo[1]; j < hi[1]; j++ {
			for i := lo[0]; i < hi[0]; i++ {
				m.Set(i, j, k)
			}
		}
	}
	return m
}

func TestCompareEdgeCases(t *testing.T) {
	dims, sp := [3]int{10, 10, 10}, [3]float64{0.5, 0.5, 2}
	empty := NewMask(dims, sp)
	one := box(dims, sp, [3]int{4, 4, 4}, [3]int{5, 5, 5})
	cube := box(dims, sp, [3]int{2, 2, 2}, [3]int{6, 6, 6})
	far := box(dims, sp, [3]int{8, 8, 8}, [3]int{10, 10, 10})
	nan := math.NaN()
	tests := []struct {
		name      string
		ref, pred Mask
		status    Status
		dice, hd  float64 // NaN: undefined
		sens, nsd float64
	}{
		{"both empty", empty, empty, StatusBothEmpty, 1, 0, 1, 1},
		{"empty prediction", cube, empty, StatusPredEmpty, 0, nan, 0, 0},
		{"empty reference", empty, cube, StatusRefEmpty, 0, nan, nan, 0},
		{"one voxel identical", one, one, StatusOK, 1, 0, 1, 1},
		{"identical", cube, cube, StatusOK, 1, 0, 1, 1},
		// 2x2x2 corner block vs one voxel at (4,4,4): nearest far voxel (8,8,8)
		// is 4 voxels away on each axis; the farthest (9,9,9) 5.
		{"disjoint", one, far, StatusOK, 0, math.Sqrt(5*5*0.25 + 5*5*0.25 + 5*5*4), 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Compare(tc.ref, tc.pred, 1)
			if err != nil {
				t.Fatal(err)
			}
			same := func(a, b float64) bool { return (math.IsNaN(a) && math.IsNaN(b)) || math.Abs(a-b) < 1e-12 }
			if r.Status != tc.status || !same(r.Dice, tc.dice) || !same(r.HD, tc.hd) || !same(r.Sensitivity, tc.sens) || !same(r.NSD, tc.nsd) {
				t.Fatalf("got status %s dice %g hd %g sens %g nsd %g; want %s %g %g %g %g", r.Status, r.Dice, r.HD, r.Sensitivity, r.NSD, tc.status, tc.dice, tc.hd, tc.sens, tc.nsd)
			}
		})
	}
	if _, err := Compare(cube, NewMask([3]int{10, 10, 9}, sp), 1); err == nil {
		t.Error("masks on different grids accepted")
	}
	if _, err := Compare(cube, cube, -1); err == nil {
		t.Error("negative tolerance accepted")
	}
}

func TestEvaluateErrorsAndEars(t *testing.T) {
	g := volume.NewGeometry([3]int{40, 20, 20}, [3]float64{0.5, 0.5, 0.5})
	ref := volume.New(g, volume.Uint8)
	pred := volume.New(g, volume.Uint8)
	other := g
	other.Spacing[2] = 0.6
	if _, err := Evaluate(ref, volume.New(other, volume.Uint8), Options{ToleranceMM: 1}); err == nil || !strings.Contains(err.Error(), "grid differs") {
		t.Errorf("mismatched geometry: %v", err)
	}
	shifted := g
	shifted.Origin[0] = 3
	if _, err := Evaluate(ref, volume.New(shifted, volume.Uint8), Options{ToleranceMM: 1}); err == nil {
		t.Error("shifted origin accepted")
	}
	bad := volume.New(g, volume.Float32)
	bad.Set(3, 3, 3, 0.5)
	if _, err := Evaluate(ref, bad, Options{ToleranceMM: 1}); err == nil || !strings.Contains(err.Error(), "(3,3,3)") {
		t.Errorf("non-label value: %v", err)
	}
	// Both empty: only "both" rows, all both_empty.
	res, err := Evaluate(ref, pred, Options{ToleranceMM: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != len(Structures) || res.Rows[0].Ear != EarBoth || res.Rows[0].Status != StatusBothEmpty {
		t.Fatalf("empty case rows: %+v", res.Rows)
	}
	// One ear at positive LPS x (origin 0, identity): the left ear only.
	for k := 5; k < 9; k++ {
		for j := 5; j < 9; j++ {
			for i := 5; i < 9; i++ {
				ref.Set(i, j, k, 1)
				pred.Set(i+1, j, k, 1)
			}
		}
	}
	pred.Set(35, 10, 10, 2) // far away false positive, counted in the ear
	res, err = Evaluate(ref, pred, Options{ToleranceMM: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ears.Split || len(res.Ears.Present) != 1 || res.Ears.Present[0] != EarLeft {
		t.Fatalf("ears: %+v", res.Ears)
	}
	if len(res.Rows) != 2*len(Structures) {
		t.Fatalf("%d rows, want %d", len(res.Rows), 2*len(Structures))
	}
	for i := range Structures {
		b, l := res.Rows[i], res.Rows[len(Structures)+i]
		if l.Ear != EarLeft || fmt.Sprint(b.Result) != fmt.Sprint(l.Result) { // Sprint: NaN == NaN
			t.Errorf("one-ear case: left row %+v differs from both %+v", l, b)
		}
	}
	if v := res.Rows[1]; v.Structure != "vestibule" || v.Status != StatusRefEmpty {
		t.Errorf("vestibule row %+v, want ref_empty", v)
	}
	if c := res.Rows[0]; c.Structure != "cochlea" || math.Abs(c.Dice-0.75) > 1e-12 {
		t.Errorf("cochlea dice %g, want 0.75", c.Dice)
	}
}

// BenchmarkEvaluateWholeScan is a 512x512x200 head with two labyrinths.
func BenchmarkEvaluateWholeScan(b *testing.B) {
	g := volume.NewGeometry([3]int{512, 512, 200}, [3]float64{0.4, 0.4, 0.6})
	g.Origin = [3]float64{-102, -102, 0}
	ref, pred := volume.New(g, volume.Uint8), volume.New(g, volume.Uint8)
	for _, ci := range []int{130, 380} {
		for k := 90; k < 120; k++ {
			for j := 240; j < 280; j++ {
				for i := ci; i < ci+40; i++ {
					di, dj, dk := float64(i-ci-20)/20, float64(j-260)/20, float64(k-105)/15
					if di*di+dj*dj+dk*dk < 1 {
						l := float32(1 + (i-ci)/14)
						ref.Set(i, j, k, l)
						pred.Set(i+1, j, k+1, l)
					}
				}
			}
		}
	}
	b.ResetTimer()
	for range b.N {
		if _, err := Evaluate(ref, pred, Options{ToleranceMM: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
