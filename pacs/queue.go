package pacs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/otoseg/otoseg/batch"
	"github.com/otoseg/otoseg/batch/segjob"
	"github.com/otoseg/otoseg/segment"
)

// errJobFailed marks a series whose batch job gave up: the watcher stops
// waiting for it.
var errJobFailed = errors.New("batch job failed")

// QueueOptions configure segmentation through the batch queue.
type QueueOptions struct {
	Queue *batch.Queue
	// Spool holds retrieved series (Spool/series/<UID>) until their job is
	// done, and the jobs' outputs (Spool/results/<UID>.nii.gz, .json,
	// _seg.dcm). It must be on storage the workers see at the same path.
	Spool string
	// Model is the model folder (empty: the built-in baseline).
	Model string
	TTA   bool
}

// QueueProcessor returns a Processor that hands each retrieved series to
// the batch queue (a job with --dicom-seg) and a Checker that collects the
// job's Segmentation once a worker has written it. The watcher's WorkDir
// must be o.Spool, so that handing a series on is a rename.
func QueueProcessor(o QueueOptions) (Processor, Checker, error) {
	sum, err := segjob.ModelChecksum(o.Model)
	if err != nil {
		return nil, nil, err
	}
	results := filepath.Join(o.Spool, "results")
	seriesDir := func(s Series) string { return filepath.Join(o.Spool, "series", s.Series) }
	process := func(ctx context.Context, s Series, dir string) ([]byte, error) {
		dst := seriesDir(s)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, err
		}
		os.RemoveAll(dst) // a copy left by an earlier, interrupted try
		if err := os.Rename(dir, dst); err != nil {
			return nil, err
		}
		_, err := batch.Submit(ctx, o.Queue, []batch.Input{{Path: dst, Rel: s.Series}}, batch.SubmitOptions{
			Out: results, Model: o.Model, ModelSum: sum, TTA: o.TTA, DICOMSeg: true,
		})
		if err != nil {
			return nil, err
		}
		return nil, ErrPending
	}
	check := func(ctx context.Context, s Series) ([]byte, error) {
		labels := filepath.Join(results, s.Series+".nii.gz")
		if _, err := os.Stat(segment.Sidecar(labels)); err != nil {
			// No sidecar yet: still running, or given up.
			st, err := batch.GetStatus(ctx, o.Queue)
			if err != nil {
				return nil, err
			}
			for _, f := range st.FailedInputs {
				if f.Input == seriesDir(s) {
					return nil, fmt.Errorf("%w after %d attempts: %s", errJobFailed, f.Attempts, f.Error)
				}
			}
			return nil, ErrPending
		}
		seg, err := os.ReadFile(segjob.SEGPath(labels))
		if errors.Is(err, os.ErrNotExist) {
			os.RemoveAll(seriesDir(s))
			return nil, fmt.Errorf("%w: no inner ear", ErrNothingToStore)
		}
		if err != nil {
			return nil, err
		}
		os.RemoveAll(seriesDir(s)) // the job is done; its outputs stay in results
		return seg, nil
	}
	return process, check, nil
}
