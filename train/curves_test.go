package train

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The training curves and their plot go through internal/atomicfile:
// complete, world-readable, no temporary files left, and an error naming
// the file when the folder is missing.
func TestCurvesAreAtomicAndReadable(t *testing.T) {
	dir := t.TempDir()
	rows := []CurveRow{
		{"segmenter", EpochLog{Epoch: 1, LR: 0.01, TrainLoss: 1.2, Seconds: 3}},
		{"segmenter", EpochLog{Epoch: 2, LR: 0.005, TrainLoss: 0.9, Validated: true, ValDice: 0.7, ValDiceClass: []float64{0.6, 0.7, 0.8}, Seconds: 3}},
	}
	if err := writeCurves(dir, rows); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		if st, err := os.Stat(filepath.Join(dir, e.Name())); err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v, %v; want mode 0644", e.Name(), st, err)
		}
	}
	if got, want := strings.Join(names, " "), "training.csv training.png"; got != want {
		t.Errorf("files %q, want %q", got, want)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "training.csv"))
	if strings.Count(string(b), "\n") != 3 {
		t.Errorf("training.csv holds %q, want a header and 2 rows", b)
	}
	// An epoch without validation leaves its Dice cells empty.
	if !strings.Contains(string(b), "segmenter,1,0.01,1.20000,,,3.0\n") || !strings.Contains(string(b), "segmenter,2,0.005,0.90000,0.70000,0.600 0.700 0.800,3.0\n") {
		t.Errorf("training.csv holds %q", b)
	}
	if err := writeCurves(filepath.Join(dir, "no"), rows); err == nil || !strings.Contains(err.Error(), "training.csv") {
		t.Errorf("writeCurves into a missing folder: %v, want an error naming training.csv", err)
	}
}
