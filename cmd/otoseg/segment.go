package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/otoseg/otoseg/internal/safeout"

	"github.com/spf13/cobra"

	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/internal/atomicfile"
	"github.com/otoseg/otoseg/models"
	"github.com/otoseg/otoseg/nnunet"
	"github.com/otoseg/otoseg/segment"
)

type segmentOptions struct {
	out      string
	model    string
	tta      bool
	mesh     bool
	measure  bool
	slicer   bool
	series   string
	volume   int
	minEarMM float64
	thresh   float64
	// maxMemory and assumeOffset: see segment.FileOptions.MaxBytes and
	// segment.Options.AssumeOffset.
	maxMemory    string
	assumeOffset bool
	// disableTTA turns off an imported nnU-Net model's mirroring (on by
	// default there, as in nnU-Net).
	disableTTA bool
	dicomSeg   string
}

func newSegmentCmd() *cobra.Command {
	o := segmentOptions{}
	cmd := &cobra.Command{
		Use:   "segment IN -o OUT [--model DIR] [--tta] [--mesh] [--slicer]",
		Short: "segment the inner ears of a CT scan (or a folder of scans)",
		Long: `Segment finds every inner ear in a CT scan (a head CT has two, a temporal-bone
crop one), segments each with the U-Net, and writes a label map in the input's
own geometry: 1 cochlea, 2 vestibule, 3 semicircular canals.

IN is an image file (.nii, .nii.gz, .nrrd, .mha, .mhd), a DICOM folder or .zip,
or a folder of image files (batch mode: OUT is then a folder and each scan
gives OUT/<name>.nii.gz). Beside each label map a JSON file records the ears
found, their side, centre and volume per structure (mm^3), and the time taken
per stage. --slicer adds a 3D Slicer .seg.nrrd, --mesh an STL surface per ear.
--dicom-seg FILE adds a DICOM Segmentation of a DICOM input, referencing its
series, for a PACS (a NIfTI input has no images to reference: an error).

The model is the baseline built into otoseg unless --model names a model
folder (see otoseg train) or an imported nnU-Net model (see otoseg model
import-nnunet; it runs nnU-Net's whole-scan pipeline, with mirroring unless
--disable-tta). A scan without an inner ear (another body part, a
blank volume) is reported as such and gets no label map; the exit status is
then 3 (5 when ears were located but no labyrinth was segmented in them).

Before any work the input is checked, and refused with a message saying what
was found: an output that would overwrite it (exit 2); a scan needing more
memory than --max-memory, judged from its header; a single slice, an MR or a
CT with a +1024 offset and no rescale (exit 4; --assume-offset corrects the
offset). NaN and infinite voxels count as air outside the body; the sidecar
counts them. From a DICOM folder holding several series, the one best for
the inner ear is read (CT, not a scout, original, bone kernel, thinnest
slices) and the choice and why are printed and recorded in the sidecar.`,
		Example: `  otoseg segment scan.nii.gz -o scan_labels.nii.gz
  otoseg segment dicom/ -o ears.nii.gz --slicer --mesh
  otoseg segment cohort/images -o predictions --model mymodel`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSegment(cmd, args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.out, "out", "o", "", "output label map (or folder, in batch mode)")
	f.StringVar(&o.model, "model", "", "model folder (default: the built-in baseline)")
	f.BoolVar(&o.tta, "tta", false, "mirroring test-time augmentation (8 passes; slower, slightly smoother)")
	f.BoolVar(&o.mesh, "mesh", false, "also write an STL surface of each ear's labyrinth")
	f.BoolVar(&o.measure, "measure", false, "also measure each ear (otoseg measure) into the sidecar, with a cochlear-view picture per ear")
	f.BoolVar(&o.slicer, "slicer", false, "also write a 3D Slicer segmentation (.seg.nrrd)")
	f.StringVar(&o.series, "series", "", "DICOM series to read, by SeriesInstanceUID or series number (default: the best for the inner ear: CT, no scout, original, bone kernel, thinnest slices)")
	f.StringVar(&o.maxMemory, "max-memory", "4GiB", "refuse scans whose reading and segmentation would need more memory (e.g. 8GiB, or none)")
	f.BoolVar(&o.assumeOffset, "assume-offset", false, "subtract 1024 from a scan that looks like CT stored with a +1024 offset and no rescale (refused otherwise)")
	f.IntVar(&o.volume, "volume", -1, "volume of a 4-D file to segment (0-based)")
	f.Float64Var(&o.thresh, "threshold", 0, "foreground probability that makes a voxel labyrinth (default: the model's plan)")
	f.BoolVar(&o.disableTTA, "disable-tta", false, "imported nnU-Net models: no mirroring (nnU-Net's --disable_tta)")
	f.StringVar(&o.dicomSeg, "dicom-seg", "", "also write a DICOM Segmentation (.dcm) referencing the input DICOM series")
	f.Float64Var(&o.minEarMM, "min-ear-volume", segment.DefaultOptions().MinEarVolumeMM3, "smallest labyrinth (mm^3) reported as an ear")
	return cmd
}

// modelName is what sidecars and batch summaries call the model in dir.
func modelName(dir string) string {
	if dir != "" {
		return dir
	}
	return "built-in baseline"
}

func loadModelOrBaseline(dir string) (*segment.Model, string, error) {
	if dir != "" {
		m, err := segment.LoadModel(dir)
		return m, modelName(dir), err
	}
	m, err := segment.LoadModelFS(models.Baseline())
	if err != nil {
		return nil, "", fmt.Errorf("built-in baseline model: %w", err)
	}
	return m, modelName(dir), nil
}

// scanInputs lists the scans to segment: IN itself, or the image files of
// a folder that holds some (a folder without any is read as DICOM).
func scanInputs(in string) (files []string, batch bool, err error) {
	st, err := os.Stat(in)
	if err != nil {
		return nil, false, err
	}
	if !st.IsDir() {
		return []string{in}, false, nil
	}
	ents, err := os.ReadDir(in)
	if err != nil {
		return nil, false, err
	}
	for _, e := range ents {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		switch imageio.FormatOf(e.Name()) {
		case imageio.NIfTI, imageio.NRRD, imageio.MetaImage:
			files = append(files, filepath.Join(in, e.Name()))
		}
	}
	if len(files) == 0 {
		return []string{in}, false, nil // a DICOM folder
	}
	sort.Strings(files)
	return files, true, nil
}

// check validates the flags before any work.
func (o segmentOptions) check() error {
	switch {
	case o.out == "":
		return usagef("-o OUT is required")
	case o.thresh != 0 && !(o.thresh > 0 && o.thresh < 1):
		return usagef("--threshold %g: want a probability strictly between 0 and 1 (0 keeps the model's)", o.thresh)
	case !(o.minEarMM >= 0) || o.minEarMM > 1e4:
		return usagef("--min-ear-volume %g: want 0 to 10000 mm^3", o.minEarMM)
	case o.volume < -1:
		return usagef("--volume %d: want a 0-based volume index", o.volume)
	}
	if _, err := imageio.ParseBytes(o.maxMemory); err != nil {
		return usagef("--max-memory: %v", err)
	}
	return nil
}

func runSegment(cmd *cobra.Command, in string, o segmentOptions) error {
	if err := o.check(); err != nil {
		return err
	}
	files, batch, err := scanInputs(in)
	if err != nil {
		return fmt.Errorf("segment: %w", err)
	}
	if o.dicomSeg != "" {
		if err := checkDICOMSegInput(in, batch); err != nil {
			return usageError{err}
		}
	}
	if batch {
		err = safeout.Dir(o.out, in)
	} else if err = safeout.File(o.out, in); err == nil {
		err = imageio.CheckWritable(o.out)
	}
	if err != nil {
		return usageError{err}
	}
	if o.dicomSeg != "" {
		if err := safeout.File(o.dicomSeg, in); err != nil {
			return usageError{err}
		}
	}
	if o.model != "" && nnunet.IsModelDir(o.model) {
		if o.dicomSeg != "" {
			return usagef("--dicom-seg is not supported with an imported nnU-Net model yet")
		}
		return runSegmentNNUNet(cmd, files, batch, o)
	}
	t0 := time.Now()
	// The model loads while the (first) scan is read: a whole head takes
	// longer to read than the model to load, so loading costs no time.
	loading := segment.LoadAsync(func() (*segment.Model, error) {
		m, _, err := loadModelOrBaseline(o.model)
		return m, err
	})
	b := &segmentBatch{cmd: cmd, o: o, loading: loading, modelName: modelName(o.model), start: t0, batch: batch}
	if !batch {
		r := b.one(files[0], o.out)
		return r.err
	}
	// A batch stops at a model that does not load, before any scan.
	if _, _, err := loading.Wait(); err != nil {
		return err
	}
	for _, f := range files {
		if cmd.Context().Err() != nil {
			break
		}
		b.results = append(b.results, b.one(f, filepath.Join(o.out, segment.CaseName(f)+".nii.gz")))
	}
	return b.finish(len(files))
}

// segmentBatch segments scans one after another with one model.
type segmentBatch struct {
	cmd       *cobra.Command
	o         segmentOptions
	loading   *segment.Loading
	modelName string
	start     time.Time
	batch     bool
	results   []batchResult
}

// batchResult is one scan of a batch, as batch.json records it.
type batchResult struct {
	Input  string `json:"input"`
	Output string `json:"output,omitempty"`
	// Status is "done", "no_ear" (an answer: the scan holds no inner ear)
	// or "failed".
	Status  string  `json:"status"`
	Error   string  `json:"error,omitempty"`
	Ears    int     `json:"ears"`
	Seconds float64 `json:"seconds"`
	err     error
}

// one segments scan f into out and writes its sidecar.
func (b *segmentBatch) one(f, out string) batchResult {
	o := b.o
	r := batchResult{Input: f, Status: "failed"}
	maxBytes, _ := imageio.ParseBytes(o.maxMemory) // checked by o.check
	spin := newStageSpinner(b.cmd.ErrOrStderr(), filepath.Base(f))
	rep, err := segment.SegmentFileLoading(b.cmd.Context(), b.loading, f, out, segment.FileOptions{
		Options: segment.Options{Mirror: o.tta, MinEarVolumeMM3: o.minEarMM, ForegroundThreshold: o.thresh, AssumeOffset: o.assumeOffset},
		Series:  o.series, PickVolume: o.volume >= 0, Volume: max(o.volume, 0),
		Slicer: o.slicer, Mesh: o.mesh, Measure: o.measure, Stage: spin.Stage, MaxBytes: maxBytes,
	})
	spin.Finish()
	if rep.Series != nil {
		fmt.Fprintf(b.cmd.ErrOrStderr(), "%s: %s\n", f, rep.Series.Reason)
	}
	r.err = err
	if err != nil && !errors.Is(err, segment.ErrNoEar) {
		r.Error = err.Error()
		if b.batch {
			fmt.Fprintf(b.cmd.ErrOrStderr(), "%s: %v\n", f, err)
		}
		return r
	}
	rep.Model = b.modelName
	if len(b.results) == 0 {
		// Seconds spent loading, alongside reading the first scan.
		_, rep.Stages["load_model"], _ = b.loading.Wait()
	}
	if werr := writeJSON(segment.Sidecar(out), rep); werr != nil {
		r.err, r.Error = werr, werr.Error()
		return r
	}
	r.Seconds, r.Ears = rep.Seconds, len(rep.Ears)
	if errors.Is(err, segment.ErrNoEar) {
		r.Status, r.err = "no_ear", fmt.Errorf("%s: %w", f, err)
		if b.batch {
			fmt.Fprintf(b.cmd.OutOrStdout(), "%s: %v\n", f, err)
		}
		return r
	}
	r.Status, r.Output = "done", out
	if o.dicomSeg != "" {
		if err := writeDICOMSeg(f, o.series, out, o.dicomSeg, o.model); err != nil {
			r.Status, r.err, r.Error = "failed", err, err.Error()
			return r
		}
		fmt.Fprintf(b.cmd.ErrOrStderr(), "wrote DICOM Segmentation %s\n", o.dicomSeg)
	}
	var parts []string
	for _, e := range rep.Ears {
		p := fmt.Sprintf("%s %.1f mm^3", e.Side, e.VolumesMM3["labyrinth"])
		if e.QC != nil {
			p += fmt.Sprintf(", QC %s %.2f (Dice ~%.2f)", e.QC.Flag, e.QC.Score, e.QC.DiceEstimate)
			if len(e.QC.Reasons) > 0 {
				p += " (" + strings.Join(e.QC.Reasons, "; ") + ")"
			}
		}
		parts = append(parts, p)
	}
	fmt.Fprintf(b.cmd.OutOrStdout(), "%s -> %s: %d ear(s) [%s] in %.2f s\n", f, out, len(rep.Ears), strings.Join(parts, ", "), rep.Seconds)
	return r
}

// batchSummary is OUT/batch.json.
type batchSummary struct {
	Model   string        `json:"model"`
	Scans   int           `json:"scans"`
	Done    int           `json:"done"`
	NoEar   int           `json:"no_ear"`
	Failed  int           `json:"failed"`
	NotRun  int           `json:"not_run"`
	Seconds float64       `json:"seconds"`
	Results []batchResult `json:"results"`
}

// finish prints the batch's summary, writes batch.json and returns an
// error when any scan failed (exit status 1) or the run was interrupted.
func (b *segmentBatch) finish(total int) error {
	s := batchSummary{Model: b.modelName, Scans: total, Results: b.results, Seconds: time.Since(b.start).Seconds()}
	for _, r := range b.results {
		switch r.Status {
		case "done":
			s.Done++
		case "no_ear":
			s.NoEar++
		default:
			s.Failed++
		}
	}
	s.NotRun = total - len(b.results)
	path := filepath.Join(b.o.out, "batch.json")
	if err := writeJSON(path, s); err != nil {
		return err
	}
	fmt.Fprintf(b.cmd.OutOrStdout(), "%d scans: %d segmented, %d without an inner ear, %d failed", total, s.Done, s.NoEar, s.Failed)
	if s.NotRun > 0 {
		fmt.Fprintf(b.cmd.OutOrStdout(), ", %d not run", s.NotRun)
	}
	fmt.Fprintf(b.cmd.OutOrStdout(), " in %.1f s; summary in %s\n", s.Seconds, path)
	for _, r := range b.results {
		if r.Status == "failed" {
			fmt.Fprintf(b.cmd.OutOrStdout(), "  failed: %s: %s\n", r.Input, r.Error)
		}
	}
	if err := b.cmd.Context().Err(); err != nil {
		return err
	}
	if s.Failed > 0 {
		return exitError{code: exitFailure, err: fmt.Errorf("%d of %d scans failed (see %s)", s.Failed, total, path)}
	}
	return nil
}

// writeJSON writes v as indented JSON to path atomically.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, append(b, '\n'))
}
