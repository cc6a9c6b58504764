package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/phantom"
)

// TestBatchCommands runs the archive workflow with the real segmenter: a
// NIfTI scan and the same scan as a DICOM series submitted twice (the
// second time adds nothing), a worker that empties the queue, the same
// label map `otoseg segment` writes, a DICOM Segmentation for the DICOM
// series only, and status --json with the fields scripts rely on.
func TestBatchCommands(t *testing.T) {
	dir := t.TempDir()
	c, _ := phantom.CentreByName("C")
	img, lab, meta, err := phantom.Generate(phantom.Config{Centre: c, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	meta.CaseID = "ear"
	if err := phantom.WriteCase(filepath.Join(dir, "ph"), img, lab, meta); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "archive")
	os.MkdirAll(filepath.Join(archive, "site1"), 0o755)
	nii := filepath.Join(archive, "site1", "ear.nii.gz")
	if err := os.Rename(filepath.Join(dir, "ph", "images", "ear.nii.gz"), nii); err != nil {
		t.Fatal(err)
	}
	if out, err := execute(t, "convert", nii, filepath.Join(archive, "site2", "ear_dicom"), "--to", "dicom"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	queue, out := filepath.Join(dir, "q.db"), filepath.Join(dir, "out")
	for i, want := range []string{"2 jobs added, 0 already", "0 jobs added, 2 already"} {
		got, err := execute(t, "batch", "submit", "--queue", queue, "--out", out, "--dicom-seg", archive)
		if err != nil || !strings.Contains(got, want) {
			t.Fatalf("submit %d: %v\n%s", i+1, err, got)
		}
	}
	if got, err := execute(t, "batch", "worker", "--queue", queue, "--until-empty", "--poll", "100ms"); err != nil {
		t.Fatalf("worker: %v\n%s", err, got)
	}
	var files []string
	filepath.Walk(out, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(out, p)
			files = append(files, rel)
		}
		return nil
	})
	sort.Strings(files)
	want := []string{"site1/ear.json", "site1/ear.nii.gz", "site2/ear_dicom.json", "site2/ear_dicom.nii.gz", "site2/ear_dicom_seg.dcm"}
	if !reflect.DeepEqual(files, want) {
		t.Fatalf("outputs %v, want %v", files, want)
	}
	// The batch label map is byte for byte what segment writes.
	single := filepath.Join(dir, "single", "ear.nii.gz")
	if got, err := execute(t, "segment", nii, "-o", single); err != nil {
		t.Fatalf("segment: %v\n%s", err, got)
	}
	a, _ := os.ReadFile(single)
	b, _ := os.ReadFile(filepath.Join(out, "site1", "ear.nii.gz"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("the batch label map differs from segment's")
	}
	if got, err := execute(t, "info", filepath.Join(out, "site2", "ear_dicom_seg.dcm")); err != nil || !strings.Contains(got, "3 semicircular canals") {
		t.Errorf("info on the batch SEG: %v\n%s", err, got)
	}
	got, err := execute(t, "batch", "status", "--queue", queue, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(got), &st); err != nil {
		t.Fatalf("%v: %s", err, got)
	}
	for _, k := range []string{"total", "pending", "running", "completed", "failed", "scans_per_hour", "failed_inputs"} {
		if _, ok := st[k]; !ok {
			t.Errorf("status --json lacks %q: %s", k, got)
		}
	}
	if st["total"] != 2.0 || st["completed"] != 2.0 || st["failed"] != 0.0 || !(st["scans_per_hour"].(float64) > 0) {
		t.Errorf("status %s", got)
	}
	if _, err := execute(t, "batch", "status", "--queue", filepath.Join(dir, "missing.db")); err == nil || !strings.Contains(err.Error(), "missing.db") {
		t.Errorf("status of a missing queue: %v", err)
	}
}
