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
	slicer   bool
	series   string
	volume   int
	minEarMM float64
	thresh   float64
	// disableTTA turns off an imported nnU-Net model's mirroring (on by
	// default there, as in nnU-Net).
	disableTTA bool
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

The model is the baseline built into otoseg unless --model names a model
folder (see otoseg train) or an imported nnU-Net model (see otoseg model
import-nnunet; it runs nnU-Net's whole-scan pipeline, with mirroring unless
--disable-tta). A scan without an inner ear (another body part, a
blank volume) is reported as such and gets no label map; the exit status is
then 3.`,
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
	f.BoolVar(&o.slicer, "slicer", false, "also write a 3D Slicer segmentation (.seg.nrrd)")
	f.StringVar(&o.series, "series", "", "DICOM SeriesInstanceUID to read (default: the largest series)")
	f.IntVar(&o.volume, "volume", -1, "volume of a 4-D file to segment (0-based)")
	f.Float64Var(&o.thresh, "threshold", 0, "foreground probability that makes a voxel labyrinth (default: the model's plan)")
	f.BoolVar(&o.disableTTA, "disable-tta", false, "imported nnU-Net models: no mirroring (nnU-Net's --disable_tta)")
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

func runSegment(cmd *cobra.Command, in string, o segmentOptions) error {
	if o.out == "" {
		return errors.New("segment: -o OUT is required")
	}
	log := cmd.ErrOrStderr()
	files, batch, err := scanInputs(in)
	if err != nil {
		return fmt.Errorf("segment: %w", err)
	}
	if o.model != "" && nnunet.IsModelDir(o.model) {
		return runSegmentNNUNet(cmd, files, batch, o)
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
			out = filepath.Join(o.out, segment.CaseName(f)+".nii.gz")
		}
		rep, err := model.SegmentFile(cmd.Context(), f, out, segment.FileOptions{
			Options: segment.Options{Mirror: o.tta, MinEarVolumeMM3: o.minEarMM, ForegroundThreshold: o.thresh},
			Series:  o.series, PickVolume: o.volume >= 0, Volume: max(o.volume, 0),
			Slicer: o.slicer, Mesh: o.mesh,
		})
		if err != nil && !errors.Is(err, segment.ErrNoEar) {
			return err
		}
		rep.Model = modelName
		if i == 0 {
			rep.Stages["load_model"] = loadSec
		}
		if err := writeJSON(segment.Sidecar(out), rep); err != nil {
			return err
		}
		if errors.Is(err, segment.ErrNoEar) {
			noEar++
			if batch {
				fmt.Fprintf(log, "%s: %v\n", f, segment.ErrNoEar)
			}
			continue
		}
		var parts []string
		for _, e := range rep.Ears {
			parts = append(parts, fmt.Sprintf("%s %.1f mm^3", e.Side, e.VolumesMM3["labyrinth"]))
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s -> %s: %d ear(s) [%s] in %.2f s\n", f, out, len(rep.Ears), strings.Join(parts, ", "), rep.Seconds)
	}
	if !batch && noEar == 1 {
		return exitError{code: 3, err: fmt.Errorf("%s: %w", files[0], segment.ErrNoEar)}
	}
	if batch {
		fmt.Fprintf(cmd.OutOrStdout(), "%d scans, %d without an inner ear, %.1f s in all\n", len(files), noEar, time.Since(t0).Seconds())
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
