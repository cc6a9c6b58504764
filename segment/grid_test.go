package segment

import (
	"testing"

	"github.com/otoseg/otoseg/ear"
	"github.com/otoseg/otoseg/metrics"
	"github.com/otoseg/otoseg/phantom"
	"github.com/otoseg/otoseg/volume"
)

// gridCeiling is the labyrinth Dice a perfect network could reach on a
// region grid of the given spacing: the reference labels resampled onto the
// grid (as training sees them), turned into one-hot probabilities and pasted
// back into the scan's grid the way Segment does.
func gridCeiling(t *testing.T, m *Model, lab *volume.Volume, spacing [3]float64) float64 {
	t.Helper()
	out := volume.New(lab.Geometry, volume.Uint8)
	for _, e := range ear.FindEars(lab) {
		g := ear.Grid(e.Centre, e.Side, ear.DimsFor([3]float64{18.4, 24, 23.75}, spacing, 8), spacing)
		rl, err := volume.ResampleLabelsTo(lab, g)
		if err != nil {
			t.Fatal(err)
		}
		n := g.Len()
		prob := make([]float32, 4*n)
		for i, v := range rl.Data {
			prob[int(v)*n+i] = 1
		}
		if _, ok, err := m.paste(out, &earPrediction{side: e.Side, grid: g, prob: prob}, Options{MinEarVolumeMM3: 1}); err != nil || !ok {
			t.Fatalf("paste: ok=%v err=%v", ok, err)
		}
	}
	return metrics.DiceOf(lab.Data, out.Data, func(v float32) bool { return v != 0 })
}

// The region grid bounds the Dice any network can reach on scans finer
// than it: thin canals (1 mm across) lose a voxel layer on each side going
// to a coarse grid and back. nnU-Net's median rule gives this cohort about
// 0.36x0.36x0.675 mm, which caps centres A (0.3x0.3x0.6) and C (0.25 mm
// cone beam) near 0.93 and 0.90; the baseline's 0.3 mm isotropic grid lifts
// the cap to 0.98 and 0.96 (means over the baseline's training cohort;
// the single cases here come out a little lower).
func TestRegionGridCeiling(t *testing.T) {
	m := testModel(t)
	m.Plan.ForegroundThreshold = 0.5
	for _, name := range []string{"A", "C"} {
		c, err := phantom.CentreByName(name)
		if err != nil {
			t.Fatal(err)
		}
		_, lab, _, err := phantom.Generate(phantom.Config{Centre: c, Seed: 4242, FOV: phantom.FOVEar, Extent: [3]float64{40, 40, 34}})
		if err != nil {
			t.Fatal(err)
		}
		coarse := gridCeiling(t, m, lab, [3]float64{0.36, 0.36, 0.675})
		fine := gridCeiling(t, m, lab, [3]float64{0.3, 0.3, 0.3})
		t.Logf("centre %s (%v mm): Dice ceiling %.3f on the median grid, %.3f at 0.3 mm", name, lab.Spacing, coarse, fine)
		if fine < 0.94 || fine < coarse+0.02 {
			t.Errorf("centre %s: ceiling %.3f at 0.3 mm against %.3f on the median grid; want >= 0.94 and 0.02 above", name, fine, coarse)
		}
	}
}
