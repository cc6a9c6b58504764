package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/phantom"
	"github.com/otoseg/otoseg/segment"
)

// A scan without an inner ear: exit status 3, a sidecar saying so, and no
// label map.
func TestSegmentNoEarExitStatus(t *testing.T) {
	dir := t.TempDir()
	img, lab, meta, err := phantom.NonEar(phantom.NonEarConfig{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	meta.CaseID = "abdomen"
	if err := phantom.WriteCase(dir, img, lab, meta); err != nil {
		t.Fatal(err)
	}
	cmd := newRootCmd()
	cmd.SetArgs([]string{"segment", filepath.Join(dir, "images", "abdomen.nii.gz"), "-o", filepath.Join(dir, "out", "abdomen.nii.gz")})
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	err = cmd.Execute()
	if exitCode(err) != exitNoEar || !errors.Is(err, segment.ErrNoEar) {
		t.Fatalf("err = %v, want exit status 3 and ErrNoEar", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "abdomen.nii.gz")); !os.IsNotExist(err) {
		t.Errorf("a label map was written for a scan without an inner ear (stat: %v)", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "out", "abdomen.json"))
	if err != nil || !strings.Contains(string(b), "no inner ear") {
		t.Errorf("sidecar %q, %v", b, err)
	}
}
