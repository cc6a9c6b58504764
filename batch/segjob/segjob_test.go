package segjob

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/otoseg/otoseg/batch"
)

// TestModelMismatch: a job submitted for another model fails at once, as
// a cancellation (no retries), saying which checksums differ, and writes
// nothing.
func TestModelMismatch(t *testing.T) {
	dir := t.TempDir()
	h := Handler(Options{Version: "test"})
	out := filepath.Join(dir, "out", "scan.nii.gz")
	err := h(context.Background(), batch.Job{ID: 1, Args: batch.Args{Input: filepath.Join(dir, "scan.nii.gz"), Output: out, ModelSum: "0000"}})
	var cancel *rivertype.JobCancelError
	if err == nil || !strings.Contains(err.Error(), "submitted for 0000") || !errors.As(err, &cancel) {
		t.Fatalf("err = %v, want a cancellation naming the checksums", err)
	}
}

func TestPathsAndRefusals(t *testing.T) {
	if got := SEGPath("/r/site1/ear.nii.gz"); got != "/r/site1/ear_seg.dcm" {
		t.Errorf("SEGPath = %s", got)
	}
	err := WriteSEG("/data/scan.nii.gz", "", "/tmp/l.nii.gz", "/tmp/s.dcm", "sum", "v", time.Time{})
	if err == nil || !strings.Contains(err.Error(), "not DICOM") {
		t.Errorf("NIfTI input: %v", err)
	}
	a, err := ModelChecksum("")
	if err != nil || len(a) != 64 {
		t.Errorf("baseline checksum %q, %v", a, err)
	}
}
