package dicom_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/imageio"
)

// TestConvertMatchesNibabel converts DICOM series to NIfTI through
// imageio (the path `otoseg convert DIR out.nii.gz` takes) and has
// testdata/check_nifti.py compare what nibabel reads with what pydicom
// reads from the DICOM files: RAS affine and every voxel in HU. It needs
// /usr/bin/python3 with nibabel and pydicom and fails without them.
func TestConvertMatchesNibabel(t *testing.T) {
	tests := []struct{ dir, series string }{
		{"axial", "1.2.826.0.1.3680043.8.498.77.1"},
		{"axial", "1.2.826.0.1.3680043.8.498.77.2"}, // oblique, float slope
		{"oblique", "1.2.826.0.1.3680043.8.498.77.3"},
		{"rle", "1.2.826.0.1.3680043.8.498.77.4"},
	}
	// One python run checks every case: its start-up dominates the cost.
	args := []string{filepath.Join("testdata", "check_nifti.py")}
	tmp := t.TempDir()
	for i, tc := range tests {
		dir := filepath.Join("testdata", tc.dir)
		v, err := imageio.ReadWith(dir, imageio.Options{Series: tc.series})
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(tmp, fmt.Sprintf("out%d.nii.gz", i))
		if err := imageio.Write(out, v); err != nil {
			t.Fatal(err)
		}
		args = append(args, dir, tc.series, out)
	}
	b, err := exec.Command("/usr/bin/python3", args...).CombinedOutput()
	if err != nil || strings.TrimSpace(string(b)) != "ok" {
		t.Fatalf("check_nifti.py: %v\n%s", err, b)
	}
}
