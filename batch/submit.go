package batch

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/riverqueue/river"
)

// Kind is the River job kind of a segmentation job.
const Kind = "otoseg_segment"

// Args are one job's arguments, stored as JSON in the queue. The fields
// tagged river:"unique" make the job's identity: the same scan, model and
// result-changing options are one job however often they are submitted.
type Args struct {
	Input     string `json:"input"`
	InputHash string `json:"input_sha256" river:"unique"`
	// Output is the label map to write (absolute); sidecar and extras go
	// beside it.
	Output string `json:"output"`
	// Model is the model folder, empty for the built-in baseline;
	// ModelSum its checksum (segment.ModelChecksum), which the worker
	// checks before using it.
	Model    string `json:"model,omitempty"`
	ModelSum string `json:"model_sha256" river:"unique"`
	TTA      bool   `json:"tta" river:"unique"`
	DICOMSeg bool   `json:"dicom_seg,omitempty" river:"unique"`
}

// Kind implements river.JobArgs.
func (Args) Kind() string { return Kind }

// SubmitOptions are what every submitted job shares.
type SubmitOptions struct {
	Out         string // output folder
	Model       string
	ModelSum    string
	TTA         bool
	DICOMSeg    bool
	MaxAttempts int // attempts before a job gives up (default 5)
}

// SubmitReport counts what a submission did.
type SubmitReport struct {
	Scans      int `json:"scans"`
	Added      int `json:"added"`
	Duplicates int `json:"duplicates"`
}

// insertChunk is how many jobs go to the queue per round trip.
const insertChunk = 500

// Submit adds one job per scan; scans whose job is already queued,
// running or done are skipped (River's unique jobs).
func Submit(ctx context.Context, q *Queue, inputs []Input, o SubmitOptions) (SubmitReport, error) {
	rep := SubmitReport{Scans: len(inputs)}
	if o.Out == "" {
		return rep, fmt.Errorf("submit: no output folder")
	}
	if o.ModelSum == "" {
		return rep, fmt.Errorf("submit: no model checksum")
	}
	out, err := filepath.Abs(o.Out)
	if err != nil {
		return rep, err
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	client, err := q.newClient(&river.Config{Logger: quietLogger()})
	if err != nil {
		return rep, err
	}
	opts := &river.InsertOpts{MaxAttempts: o.MaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
	for start := 0; start < len(inputs); start += insertChunk {
		chunk := inputs[start:min(start+insertChunk, len(inputs))]
		params := make([]river.InsertManyParams, len(chunk))
		for i, in := range chunk {
			hash, err := ContentHash(in.Path)
			if err != nil {
				return rep, fmt.Errorf("%s: %w", in.Path, err)
			}
			params[i] = river.InsertManyParams{InsertOpts: opts, Args: Args{
				Input: in.Path, InputHash: hash, Output: filepath.Join(out, in.Rel+".nii.gz"),
				Model: o.Model, ModelSum: o.ModelSum, TTA: o.TTA, DICOMSeg: o.DICOMSeg,
			}}
		}
		res, err := client.InsertMany(ctx, params)
		if err != nil {
			return rep, fmt.Errorf("queue %s: %w", q.Location, err)
		}
		for _, r := range res {
			if r.UniqueSkippedAsDuplicate {
				rep.Duplicates++
			} else {
				rep.Added++
			}
		}
	}
	return rep, nil
}
