package plan

import (
	"math"
	"path/filepath"
	"testing"
)

func TestTargetSpacing(t *testing.T) {
	tests := []struct {
		name string
		in   [][3]float64
		want [3]float64
	}{
		{"median", [][3]float64{{0.3, 0.3, 0.6}, {0.4, 0.4, 1.0}, {0.5, 0.5, 0.5}}, [3]float64{0.4, 0.4, 0.6}},
		// z is > 3x coarser than x,y: nnU-Net takes its 10th percentile.
		{"anisotropic", [][3]float64{{0.2, 0.2, 1.0}, {0.2, 0.2, 0.9}, {0.2, 0.2, 0.4}}, [3]float64{0.2, 0.2, 0.5}},
	}
	for _, tt := range tests {
		got, err := TargetSpacing(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		for a := 0; a < 3; a++ {
			if math.Abs(got[a]-tt.want[a]) > 1e-9 {
				t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
				break
			}
		}
	}
	if _, err := TargetSpacing(nil); err == nil {
		t.Error("no error for an empty training set")
	}
}

func TestDeriveFitsBudgetAndRoundTrips(t *testing.T) {
	fp := Fingerprint{Cases: 3, Ears: 6, Spacings: [][3]float64{{0.3, 0.3, 0.5}, {0.3, 0.3, 0.5}},
		EarExtentMM: [3]float64{18, 16, 14}, FGP005: -50, FGP995: 900, FGMean: 200, FGStd: 250, FGSample: 1000}
	r := DefaultRules()
	p, err := Derive(fp, map[int]string{1: "cochlea"}, r)
	if err != nil {
		t.Fatal(err)
	}
	if n := p.PatchSize[0] * p.PatchSize[1] * p.PatchSize[2]; n > r.MaxPatchVoxels {
		t.Errorf("patch %v has %d voxels > %d", p.PatchSize, n, r.MaxPatchVoxels)
	}
	for a := 0; a < 3; a++ {
		if p.PatchSize[a]%r.Divisor != 0 {
			t.Errorf("patch %v not divisible by %d", p.PatchSize, r.Divisor)
		}
	}
	if p.ROISizeMM != [3]float64{26, 24, 22} {
		t.Errorf("ROI %v", p.ROISizeMM)
	}
	path := filepath.Join(t.TempDir(), "plans.json")
	if err := p.Save(path); err != nil {
		t.Fatal(err)
	}
	q, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if q.PatchSize != p.PatchSize || q.Intensity != p.Intensity {
		t.Errorf("round trip: %+v vs %+v", q, p)
	}
}

// The planned CT clip keeps nnU-Net's lower percentile but never clips
// below MinCTClipHigh at the top, so canal lumens that a smooth kernel has
// filled in to 1150-1400 HU stay apart from bone; a cohort whose labelled
// voxels reach higher keeps its own percentile. Mean, standard deviation and
// the fingerprint's percentiles are left as measured.
func TestDeriveCTClip(t *testing.T) {
	tests := []struct {
		name          string
		p005, p995    float64
		wantLo, wantH float64
	}{
		{"baseline cohort: 99.5 percentile below the floor", -476.325, 1251, -476.325, MinCTClipHigh},
		{"at the floor", -500, 2500, -500, 2500},
		{"just above the floor", -500, 2500.5, -500, 2500.5},
		{"dense labels keep their percentile", -200, 3100, -200, 3100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fp := Fingerprint{Cases: 2, Ears: 4, Spacings: [][3]float64{{0.3, 0.3, 0.3}}, EarExtentMM: [3]float64{18, 16, 14},
				FGP005: tt.p005, FGP995: tt.p995, FGMean: 380, FGStd: 377, FGSample: 1000}
			p, err := Derive(fp, map[int]string{1: "cochlea"}, DefaultRules())
			if err != nil {
				t.Fatal(err)
			}
			want := Intensity{ClipLow: tt.wantLo, ClipHigh: tt.wantH, Mean: 380, Std: 377}
			if p.Intensity != want {
				t.Errorf("intensity %+v, want %+v", p.Intensity, want)
			}
			if p.Fingerprint.FGP995 != tt.p995 {
				t.Errorf("fingerprint 99.5 percentile %g, want %g as measured", p.Fingerprint.FGP995, tt.p995)
			}
			if err := p.Check(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	in := Intensity{ClipLow: 0, ClipHigh: 100, Mean: 50, Std: 25}
	d := []float32{-1000, 50, 75, 3000}
	in.Normalize(d)
	want := []float32{-2, 0, 1, 2}
	for i := range d {
		if d[i] != want[i] {
			t.Fatalf("got %v, want %v", d, want)
		}
	}
}

// The patch follows the spacing: the ROI in voxels rounded up to the
// divisor, then shrunk on the axis longest in mm until it fits the budget.
func TestSetSpacingRederivesPatch(t *testing.T) {
	tests := []struct {
		name    string
		spacing [3]float64
		want    [3]int
	}{
		// 18.4x24x23.75 mm: 52x67x36 voxels, rounded to 56x72x40.
		{"baseline grid", [3]float64{0.36, 0.36, 0.675}, [3]int{56, 72, 40}},
		// 62x80x80 voxels, 64x80x80 rounded, over the 64^3 budget.
		{"fine isotropic", [3]float64{0.3, 0.3, 0.3}, [3]int{64, 64, 64}},
		{"coarse", [3]float64{1, 1, 1}, [3]int{24, 24, 24}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Plan{ROISizeMM: [3]float64{18.4, 24, 23.75}}
			p.SetSpacing(tt.spacing, DefaultRules())
			if p.TargetSpacing != tt.spacing || p.PatchSize != tt.want {
				t.Errorf("spacing %v: got spacing %v patch %v, want patch %v", tt.spacing, p.TargetSpacing, p.PatchSize, tt.want)
			}
		})
	}
}
