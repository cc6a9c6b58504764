package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/imageio"
)

const nnunetFixture = "../../nnunet/testdata/iso/Dataset901_PhantomIso/nnUNetTrainer__nnUNetPlans__3d_fullres"

// From the command line: import the PyTorch-built nnU-Net model, segment the
// phantom with it, and get nnU-Net's predictor's labels.
func TestImportNNUNetAndSegment(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	out, err := execute(t, "model", "import-nnunet", nnunetFixture, "-o", model, "--fold", "0")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "folds [0]") {
		t.Errorf("import said %q", out)
	}
	if out, err = execute(t, "model", "info", model); err != nil || !strings.Contains(out, "imported from nnU-Net") {
		t.Errorf("model info: %v\n%s", err, out)
	}
	seg := filepath.Join(dir, "pred", "scan.nii.gz")
	if out, err = execute(t, "segment", "../../nnunet/testdata/scan.nii.gz", "-o", seg, "--model", model); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got, err := imageio.Read(seg)
	if err != nil {
		t.Fatal(err)
	}
	want, err := imageio.Read("../../nnunet/testdata/pred_iso_fold0.nii.gz")
	if err != nil {
		t.Fatal(err)
	}
	var agree, fg int
	for i, v := range got.Data {
		if v > 0 && v == want.Data[i] {
			agree++
		}
		if v > 0 {
			fg++
		}
		if want.Data[i] > 0 {
			fg++
		}
	}
	if fg == 0 || float64(2*agree)/float64(fg) < 0.999 {
		t.Errorf("labels agree with nnU-Net's predictor's on %d of %d foreground voxels (Dice < 0.999)", 2*agree, fg)
	}
	if _, err := os.Stat(filepath.Join(dir, "pred", "scan.json")); err != nil {
		t.Errorf("no report beside the labels: %v", err)
	}
	for _, args := range [][]string{
		{"model", "import-nnunet", nnunetFixture, "-o", model}, // exists
		{"model", "import-nnunet", nnunetFixture, "-o", filepath.Join(dir, "m2"), "--fold", "x"},
		{"model", "import-nnunet", dir, "-o", filepath.Join(dir, "m3")}, // not an nnU-Net folder
		{"segment", "../../nnunet/testdata/scan.nii.gz", "-o", seg, "--model", model, "--mesh"},
	} {
		if out, err := execute(t, args...); err == nil {
			t.Errorf("%v accepted:\n%s", args, out)
		}
	}
}

// From the command line: a minimal manifest out to an nnU-Net raw dataset
// and back.
func TestDatasetNNUNetRoundTrip(t *testing.T) {
	dir := t.TempDir()
	scan, _ := filepath.Abs("../../nnunet/testdata/scan.nii.gz")
	lab, _ := filepath.Abs("../../nnunet/testdata/label.nii.gz")
	m := filepath.Join(dir, "m.csv")
	if err := os.WriteFile(m, []byte("case_id,image,label\near1,"+scan+","+lab+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	raw := filepath.Join(dir, "raw", "Dataset777_Ear")
	if out, err := execute(t, "dataset", "export-nnunet", "--manifest", m, "-o", raw); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	back := filepath.Join(dir, "back.csv")
	if out, err := execute(t, "dataset", "import-nnunet", raw, "-o", back); err != nil || !strings.Contains(out, "1 cases") {
		t.Fatalf("%v\n%s", err, out)
	}
	b, err := os.ReadFile(back)
	if err != nil || !strings.Contains(string(b), "ear1,") || !strings.Contains(string(b), "imagesTr/ear1_0000.nii.gz") {
		t.Errorf("manifest read back: %v\n%s", err, b)
	}
	if out, err := execute(t, "dataset", "import-nnunet", raw, "-o", back, "--labels", "1=stapes"); err == nil {
		t.Errorf("unknown otoseg label accepted:\n%s", out)
	}
}
