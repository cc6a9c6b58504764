package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The CLI's own outputs (the sidecar JSON) go
// through internal/atomicfile: complete, world-readable, no temporary files
// left, and an error naming the file when the folder is missing.
func TestOutputsAreAtomicAndReadable(t *testing.T) {
	dir := t.TempDir()
	if err := writeJSON(filepath.Join(dir, "case.json"), map[string]int{"ears": 2}); err != nil {
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
	if got, want := strings.Join(names, " "), "case.json"; got != want {
		t.Errorf("files %q, want %q", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "case.json")); string(b) != "{\n  \"ears\": 2\n}\n" {
		t.Errorf("case.json = %q", b)
	}

	missing := filepath.Join(dir, "no", "case.json")
	if err := writeJSON(missing, 1); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("writeJSON into a missing folder: %v, want an error naming %s", err, missing)
	}
}
