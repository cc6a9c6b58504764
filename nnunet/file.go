package nnunet

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/internal/atomicfile"
)

// FileReport is the JSON written beside a label map.
type FileReport struct {
	Input  string `json:"input"`
	Output string `json:"output"`
	Model  string `json:"model"`
	Folds  []int  `json:"folds"`
	Result
	ReadSeconds  float64 `json:"read_seconds"`
	WriteSeconds float64 `json:"write_seconds"`
}

// SegmentFile reads a scan, segments it and writes the label map to out
// (atomically, in the format its extension names) and a JSON report beside
// it (out without its extension, plus .json). The input is never written.
func (l *Loaded) SegmentFile(ctx context.Context, in, out string, o Options) (*FileReport, error) {
	if a, b := filepath.Clean(in), filepath.Clean(out); a == b {
		return nil, fmt.Errorf("output %s is the input", out)
	}
	t0 := time.Now()
	img, err := imageio.Read(in)
	if err != nil {
		return nil, err
	}
	rep := &FileReport{Input: in, Output: out, Model: l.Dir, Folds: l.Folds, ReadSeconds: time.Since(t0).Seconds()}
	res, err := l.Segment(ctx, img, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in, err)
	}
	rep.Result = *res
	t1 := time.Now()
	if err := imageio.Write(out, res.Labels); err != nil {
		return nil, err
	}
	rep.WriteSeconds = time.Since(t1).Seconds()
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, err
	}
	side := filepath.Join(filepath.Dir(out), imageio.TrimExtension(filepath.Base(out))+".json")
	if err := atomicfile.WriteBytes(side, append(b, '\n')); err != nil {
		return nil, err
	}
	return rep, nil
}
