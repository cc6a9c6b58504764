package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/train"
)

// The CLI's own outputs (sidecar JSON, training curves and their plot) go
// through internal/atomicfile: complete, world-readable, no temporary files
// left, and an error naming the file when the folder is missing.
func TestOutputsAreAtomicAndReadable(t *testing.T) {
	dir := t.TempDir()
	if err := writeJSON(filepath.Join(dir, "case.json"), map[string]int{"ears": 2}); err != nil {
		t.Fatal(err)
	}
	rows := []curveRow{
		{"segmenter", train.EpochLog{Epoch: 1, LR: 0.01, TrainLoss: 1.2, ValDice: 0.5, ValDiceClass: []float64{0.4, 0.5, 0.6}, Seconds: 3}},
		{"segmenter", train.EpochLog{Epoch: 2, LR: 0.005, TrainLoss: 0.9, ValDice: 0.7, ValDiceClass: []float64{0.6, 0.7, 0.8}, Seconds: 3}},
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
		st, err := os.Stat(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644", e.Name(), st.Mode().Perm())
		}
	}
	if got, want := strings.Join(names, " "), "case.json training.csv training.png"; got != want {
		t.Errorf("files %q, want %q", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "case.json")); string(b) != "{\n  \"ears\": 2\n}\n" {
		t.Errorf("case.json = %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "training.csv")); strings.Count(string(b), "\n") != 3 {
		t.Errorf("training.csv holds %q, want a header and 2 rows", b)
	}

	missing := filepath.Join(dir, "no", "case.json")
	if err := writeJSON(missing, 1); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("writeJSON into a missing folder: %v, want an error naming %s", err, missing)
	}
	if err := writeCurves(filepath.Join(dir, "no"), rows); err == nil || !strings.Contains(err.Error(), "training.csv") {
		t.Errorf("writeCurves into a missing folder: %v, want an error naming training.csv", err)
	}
}
