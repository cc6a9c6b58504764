package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/phantom"
)

// TestDICOMWorkflow is the PACS path end to end: a phantom written as a
// DICOM CT series (convert --to dicom), segmented with --dicom-seg, the SEG
// read back by info and convert onto the label map segment wrote.
func TestDICOMWorkflow(t *testing.T) {
	dir := t.TempDir()
	c, _ := phantom.CentreByName("C") // one temporal bone, 176x176x120
	img, lab, meta, err := phantom.Generate(phantom.Config{Centre: c, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	meta.CaseID = "tb1"
	if err := phantom.WriteCase(dir, img, lab, meta); err != nil {
		t.Fatal(err)
	}
	nii := filepath.Join(dir, "images", "tb1.nii.gz")
	series := filepath.Join(dir, "tb1_dicom")
	if out, err := execute(t, "convert", nii, series, "--to", "dicom"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	labels := filepath.Join(dir, "out", "tb1.nii.gz")
	seg := filepath.Join(dir, "out", "tb1_seg.dcm")
	if out, err := execute(t, "segment", series, "-o", labels, "--dicom-seg", seg); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err := execute(t, "info", seg)
	if err != nil || !strings.Contains(out, "1 cochlea (SCT:80169004)") || !strings.Contains(out, "dims         176 x 176 x 120") {
		t.Fatalf("info: %v\n%s", err, out)
	}
	back := filepath.Join(dir, "back.nii.gz")
	if out, err := execute(t, "convert", seg, back); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	a, err := imageio.Read(labels)
	if err != nil {
		t.Fatal(err)
	}
	b, err := imageio.Read(back)
	if err != nil {
		t.Fatal(err)
	}
	if !a.SameGrid(b.Geometry, 1e-4) {
		t.Fatalf("SEG grid %+v, label map %+v", b.Geometry, a.Geometry)
	}
	n := 0
	for i := range a.Data {
		if a.Data[i] != b.Data[i] {
			t.Fatalf("voxel %d: SEG %g, label map %g", i, b.Data[i], a.Data[i])
		}
		if a.Data[i] > 0 {
			n++
		}
	}
	if n < 1000 {
		t.Errorf("only %d labelled voxels: the phantom's ear was not segmented", n)
	}

	// A NIfTI input has no instances to reference: refused before any work.
	other := filepath.Join(dir, "nifti_seg.dcm")
	_, err = execute(t, "segment", nii, "-o", filepath.Join(dir, "x.nii.gz"), "--dicom-seg", other)
	if err == nil || !strings.Contains(err.Error(), "not DICOM") || !strings.Contains(err.Error(), nii) {
		t.Errorf("NIfTI input with --dicom-seg: %v", err)
	}
	for _, p := range []string{other, filepath.Join(dir, "x.nii.gz")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s written despite the refusal", p)
		}
	}
	// convert --to dicom never writes into a folder that holds files.
	if _, err := execute(t, "convert", nii, series, "--to", "dicom"); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("convert over an existing series: %v", err)
	}
}
