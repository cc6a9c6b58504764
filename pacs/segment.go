package pacs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/otoseg/otoseg/batch/segjob"
	"github.com/otoseg/otoseg/models"
	"github.com/otoseg/otoseg/segment"
)

// SegmentOptions configure the processor that segments retrieved series.
type SegmentOptions struct {
	// Model is the model folder, empty for the built-in baseline.
	Model string
	// Version names otoseg in the Segmentation.
	Version string
	// Keep, when set, is a folder that keeps each series' label map,
	// sidecar and Segmentation (<SeriesInstanceUID>.nii.gz, .json,
	// _seg.dcm); otherwise they are removed once stored.
	Keep string
	TTA  bool
}

// SegmentProcessor returns a Processor that segments a series with the
// model and returns its DICOM Segmentation; a series without an inner ear
// gives ErrNothingToStore.
func SegmentProcessor(o SegmentOptions) (Processor, error) {
	var (
		m   *segment.Model
		err error
	)
	if o.Model == "" {
		m, err = segment.LoadModelFS(models.Baseline())
	} else {
		m, err = segment.LoadModel(o.Model)
	}
	if err != nil {
		return nil, err
	}
	sum, err := segjob.ModelChecksum(o.Model)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, s Series, dir string) ([]byte, error) {
		out := o.Keep
		if out == "" {
			tmp, err := os.MkdirTemp("", "otoseg-result-*")
			if err != nil {
				return nil, err
			}
			defer os.RemoveAll(tmp)
			out = tmp
		}
		if err := os.MkdirAll(out, 0o755); err != nil {
			return nil, err
		}
		labels := filepath.Join(out, s.Series+".nii.gz")
		opts := segment.DefaultOptions()
		opts.Mirror = o.TTA
		rep, err := m.SegmentFile(ctx, dir, labels, segment.FileOptions{Options: opts, Series: s.Series})
		if rep != nil {
			rep.Input = fmt.Sprintf("DICOMweb study %s series %s", s.Study, s.Series)
			if werr := segjob.WriteJSON(segment.Sidecar(labels), rep); werr != nil && err == nil {
				err = werr
			}
		}
		if errors.Is(err, segment.ErrNoEar) {
			return nil, fmt.Errorf("%w: %v", ErrNothingToStore, err)
		}
		if err != nil {
			return nil, err
		}
		segPath := segjob.SEGPath(labels)
		if err := segjob.WriteSEG(dir, s.Series, labels, segPath, sum, o.Version, time.Time{}); err != nil {
			return nil, err
		}
		return os.ReadFile(segPath)
	}, nil
}
