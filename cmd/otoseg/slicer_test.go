package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/otoseg/otoseg/imageio/nrrd"
	"github.com/otoseg/otoseg/phantom"
)

// TestSlicerSegmentationsIdentical pins the one label table: `segment -o
// x.seg.nrrd` and `segment -o x.nii.gz --slicer` write the same bytes, with
// the names and colours of package ear (the two writers once swapped the
// vestibule's and the canals' colours).
func TestSlicerSegmentationsIdentical(t *testing.T) {
	dir := t.TempDir()
	c, _ := phantom.CentreByName("A")
	img, lab, meta, err := phantom.Generate(phantom.Config{Centre: c, Seed: 77})
	if err != nil {
		t.Fatal(err)
	}
	meta.CaseID = "ear"
	if err := phantom.WriteCase(dir, img, lab, meta); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "images", "ear.nii.gz")
	direct := filepath.Join(dir, "a", "ear.seg.nrrd")
	beside := filepath.Join(dir, "b", "ear.seg.nrrd")
	for _, args := range [][]string{
		{"segment", in, "-o", direct},
		{"segment", in, "-o", filepath.Join(dir, "b", "ear.nii.gz"), "--slicer"},
	} {
		cmd := newRootCmd()
		cmd.SetArgs(args)
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	a, err := os.ReadFile(direct)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(beside)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("%s and %s differ (%d and %d bytes)", direct, beside, len(a), len(b))
	}
	segs, err := nrrd.ReadSegments(direct)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{1: "cochlea", 2: "vestibule", 3: "semicircular canals"}
	for _, s := range segs {
		if want[s.LabelValue] != s.Name {
			t.Errorf("segment %d named %q, want %q", s.LabelValue, s.Name, want[s.LabelValue])
		}
	}
	if len(segs) != 3 {
		t.Errorf("%d segments, want 3", len(segs))
	}
}
