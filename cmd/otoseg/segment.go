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

	"github.com/spf13/cobra"

	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/imageio/nrrd"
	"github.com/otoseg/otoseg/mesh"
	"github.com/otoseg/otoseg/models"
	"github.com/otoseg/otoseg/segment"
	"github.com/otoseg/otoseg/volume"
)

type segmentOptions struct {
	out      string
	model    string
	tta      bool
	mesh     bool
	slicer   bool
	series   string
	volume   int
	minEarMM float64
}

// errNoEarExit marks a run whose only scan had no inner ear (exit status 3).
var errNoEarExit = errors.New("no inner ear found")

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

The model is the baseline built into otoseg unless --model names a model
folder (see otoseg train). A scan without an inner ear (another body part, a
blank volume) is reported as such and gets no label map; the exit status is
then 3.`,
		Example: `  otoseg segment scan.nii.gz -o scan_labels.nii.gz
  otoseg segment dicom/ -o ears.nii.gz --slicer --mesh
  otoseg segment cohort/images -o predictions --model mymodel`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			err := runSegment(cmd, args[0], o)
			if errors.Is(err, errNoEarExit) {
				fmt.Fprintln(cmd.ErrOrStderr(), "otoseg:", segment.ErrNoEar)
				os.Exit(3)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.out, "out", "o", "", "output label map (or folder, in batch mode)")
	f.StringVar(&o.model, "model", "", "model folder (default: the built-in baseline)")
	f.BoolVar(&o.tta, "tta", false, "mirroring test-time augmentation (8 passes; slower, slightly smoother)")
	f.BoolVar(&o.mesh, "mesh", false, "also write an STL surface of each ear's labyrinth")
	f.BoolVar(&o.slicer, "slicer", false, "also write a 3D Slicer segmentation (.seg.nrrd)")
	f.StringVar(&o.series, "series", "", "DICOM SeriesInstanceUID to read (default: the largest series)")
	f.IntVar(&o.volume, "volume", -1, "volume of a 4-D file to segment (0-based)")
	f.Float64Var(&o.minEarMM, "min-ear-volume", segment.DefaultOptions().MinEarVolumeMM3, "smallest labyrinth (mm^3) reported as an ear")
	return cmd
}

func loadModelOrBaseline(dir string) (*segment.Model, string, error) {
	if dir != "" {
		m, err := segment.LoadModel(dir)
		return m, dir, err
	}
	m, err := segment.LoadModelFS(models.Baseline())
	if err != nil {
		return nil, "", fmt.Errorf("built-in baseline model: %w", err)
	}
	return m, "built-in baseline", nil
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

// caseName is a file's name without its image extension.
func caseName(path string) string {
	b := filepath.Base(strings.TrimRight(path, "/"))
	for _, ext := range []string{".nii.gz", ".seg.nrrd", ".nii", ".nrrd", ".mha", ".mhd", ".zip", ".dcm"} {
		if strings.HasSuffix(strings.ToLower(b), ext) {
			return b[:len(b)-len(ext)]
		}
	}
	return b
}

// segmentReport is the JSON written beside each label map.
type segmentReport struct {
	Input   string             `json:"input"`
	Output  string             `json:"output,omitempty"`
	Model   string             `json:"model"`
	Ears    []segment.Ear      `json:"ears"`
	Message string             `json:"message,omitempty"`
	Seconds float64            `json:"seconds"`
	Stages  map[string]float64 `json:"stage_seconds"`
	Outputs []string           `json:"extra_outputs,omitempty"`
}

func runSegment(cmd *cobra.Command, in string, o segmentOptions) error {
	if o.out == "" {
		return errors.New("segment: -o OUT is required")
	}
	log := cmd.ErrOrStderr()
	files, batch, err := scanInputs(in)
	if err != nil {
		return fmt.Errorf("segment: %w", err)
	}
	t0 := time.Now()
	model, modelName, err := loadModelOrBaseline(o.model)
	if err != nil {
		return err
	}
	loadSec := time.Since(t0).Seconds()
	dir := filepath.Dir(o.out)
	if batch {
		dir = o.out
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("segment: %w", err)
	}
	noEar := 0
	for i, f := range files {
		out := o.out
		if batch {
			out = filepath.Join(o.out, caseName(f)+".nii.gz")
		}
		rep, err := segmentOne(cmd, model, f, out, o)
		if err != nil && !errors.Is(err, segment.ErrNoEar) {
			return err
		}
		rep.Model = modelName
		if i == 0 {
			rep.Stages["load_model"] = loadSec
		}
		if err := writeJSON(sidecar(out), rep); err != nil {
			return err
		}
		if errors.Is(err, segment.ErrNoEar) {
			noEar++
			fmt.Fprintf(log, "%s: %v\n", f, segment.ErrNoEar)
			continue
		}
		var parts []string
		for _, e := range rep.Ears {
			parts = append(parts, fmt.Sprintf("%s %.1f mm^3", e.Side, e.VolumesMM3["labyrinth"]))
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s -> %s: %d ear(s) [%s] in %.2f s\n", f, out, len(rep.Ears), strings.Join(parts, ", "), rep.Seconds)
	}
	if !batch && noEar == 1 {
		return errNoEarExit
	}
	if batch {
		fmt.Fprintf(cmd.OutOrStdout(), "%d scans, %d without an inner ear, %.1f s in all\n", len(files), noEar, time.Since(t0).Seconds())
	}
	return nil
}

// sidecar is the JSON path beside a label map.
func sidecar(out string) string {
	return filepath.Join(filepath.Dir(out), caseName(out)+".json")
}

func segmentOne(cmd *cobra.Command, model *segment.Model, in, out string, o segmentOptions) (*segmentReport, error) {
	rep := &segmentReport{Input: in, Stages: map[string]float64{}}
	t0 := time.Now()
	img, err := imageio.ReadWith(in, imageio.Options{Series: o.series, PickVolume: o.volume >= 0, Volume: max(o.volume, 0)})
	if err != nil {
		return rep, err
	}
	rep.Stages["read"] = time.Since(t0).Seconds()
	so := segment.DefaultOptions()
	so.Mirror, so.MinEarVolumeMM3 = o.tta, o.minEarMM
	res, err := model.Segment(cmd.Context(), img, so)
	if errors.Is(err, segment.ErrNoEar) {
		rep.Message = segment.ErrNoEar.Error()
		rep.Seconds = time.Since(t0).Seconds()
		return rep, err
	}
	if err != nil {
		return rep, fmt.Errorf("segment %s: %w", in, err)
	}
	for k, v := range res.Stages {
		rep.Stages[k] = v
	}
	rep.Ears = res.Ears
	t1 := time.Now()
	if err := imageio.Write(out, res.Labels); err != nil {
		return rep, err
	}
	rep.Output = out
	if o.slicer {
		p := filepath.Join(filepath.Dir(out), caseName(out)+".seg.nrrd")
		if err := nrrd.WriteSegmentation(p, res.Labels, slicerSegments(model)); err != nil {
			return rep, err
		}
		rep.Outputs = append(rep.Outputs, p)
	}
	if o.mesh {
		for _, e := range res.Ears {
			p := filepath.Join(filepath.Dir(out), caseName(out)+"_"+e.Side+".stl")
			if err := writeEarMesh(p, res.Labels, e); err != nil {
				return rep, err
			}
			rep.Outputs = append(rep.Outputs, p)
		}
	}
	rep.Stages["write"] = time.Since(t1).Seconds()
	rep.Seconds = time.Since(t0).Seconds()
	return rep, nil
}

func slicerSegments(m *segment.Model) []nrrd.Segment {
	colours := map[int][3]float64{1: {0.95, 0.75, 0.3}, 2: {0.3, 0.7, 0.95}, 3: {0.5, 0.85, 0.4}}
	var segs []nrrd.Segment
	for l := 1; l <= 3; l++ {
		name := m.Plan.Labels[l]
		if name == "" {
			continue
		}
		segs = append(segs, nrrd.Segment{ID: strings.ReplaceAll(name, " ", "_"), Name: name, Color: colours[l], LabelValue: l})
	}
	return segs
}

// writeEarMesh writes the labyrinth surface of one ear (marching cubes on
// the ear's box, lightly smoothed) as STL in LPS mm.
func writeEarMesh(path string, labels *volume.Volume, e segment.Ear) error {
	lo, hi := e.BoxLo, e.BoxHi
	for a := 0; a < 3; a++ {
		lo[a] = max(lo[a]-1, 0)
		hi[a] = min(hi[a]+2, labels.Dims[a])
	}
	box, err := volume.Crop(labels, lo, hi)
	if err != nil {
		return err
	}
	m, err := mesh.MarchingCubes(box, mesh.Options{Select: func(x float32) bool { return x > 0 }, Closed: true})
	if err != nil {
		return err
	}
	return mesh.WriteFile(path, m)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".json-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
