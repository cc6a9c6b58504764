package segment

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/mesh"
	"github.com/otoseg/otoseg/volume"
)

// FileOptions add file handling to Options.
type FileOptions struct {
	Options
	// Series picks a DICOM series; PickVolume and Volume a volume of a 4-D file.
	Series     string
	PickVolume bool
	Volume     int
	// Slicer writes <name>.seg.nrrd beside the label map; Mesh writes
	// <name>_<side>.stl per ear.
	Slicer, Mesh bool
	// Stage, if set, is called as each stage starts ("reading",
	// "segmenting", "writing"), for progress on a terminal.
	Stage func(name string)
}

func (o FileOptions) stage(name string) {
	if o.Stage != nil {
		o.Stage(name)
	}
}

// Report is what `otoseg segment` writes beside each label map.
type Report struct {
	Input   string             `json:"input"`
	Output  string             `json:"output,omitempty"`
	Model   string             `json:"model"`
	Ears    []Ear              `json:"ears"`
	Message string             `json:"message,omitempty"`
	Seconds float64            `json:"seconds"`
	Stages  map[string]float64 `json:"stage_seconds"`
	Outputs []string           `json:"extra_outputs,omitempty"`
}

// SegmentFile reads a scan, segments it and writes the label map to out in
// the scan's geometry (plus the extra outputs o asks for). Seconds in the
// report run from the start of reading to the end of writing. A scan without
// an inner ear returns a report and ErrNoEar, and writes nothing.
func (m *Model) SegmentFile(ctx context.Context, in, out string, o FileOptions) (*Report, error) {
	rep := &Report{Input: in, Ears: []Ear{}, Stages: map[string]float64{}}
	t0 := time.Now()
	o.stage("reading")
	img, err := imageio.ReadWith(in, imageio.Options{Series: o.Series, PickVolume: o.PickVolume, Volume: o.Volume})
	if err != nil {
		return rep, err
	}
	rep.Stages["read"] = time.Since(t0).Seconds()
	o.stage("segmenting")
	res, err := m.Segment(ctx, img, o.Options)
	if errors.Is(err, ErrNoEar) {
		rep.Message = ErrNoEar.Error()
		rep.Seconds = time.Since(t0).Seconds()
		return rep, err
	}
	if err != nil {
		return rep, fmt.Errorf("segment %s: %w", in, err)
	}
	img = nil // let the scan go before writing
	for k, v := range res.Stages {
		rep.Stages[k] = v
	}
	rep.Ears = res.Ears
	t1 := time.Now()
	o.stage("writing")
	if err := imageio.Write(out, res.Labels); err != nil {
		return rep, err
	}
	rep.Output = out
	if o.Slicer {
		p := filepath.Join(filepath.Dir(out), CaseName(out)+".seg.nrrd")
		// The same writer as -o x.seg.nrrd, so the two files are identical.
		if err := imageio.Write(p, res.Labels); err != nil {
			return rep, err
		}
		rep.Outputs = append(rep.Outputs, p)
	}
	if o.Mesh {
		for _, e := range res.Ears {
			p := filepath.Join(filepath.Dir(out), CaseName(out)+"_"+e.Side+".stl")
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

// CaseName is a file's name without its image extension: the case id
// evaluation matches predictions by.
func CaseName(path string) string {
	return imageio.TrimExtension(filepath.Base(strings.TrimRight(path, "/")))
}

// Sidecar is the JSON report path beside a label map.
func Sidecar(out string) string {
	return filepath.Join(filepath.Dir(out), CaseName(out)+".json")
}

// writeEarMesh writes the labyrinth surface of one ear (marching cubes on
// the ear's box) as STL in LPS mm.
func writeEarMesh(path string, labels *volume.Volume, e Ear) error {
	lo, hi := e.BoxLo, e.BoxHi
	for a := 0; a < 3; a++ {
		lo[a] = max(lo[a]-1, 0)
		hi[a] = min(hi[a]+2, labels.Dims[a])
	}
	box, err := volume.Crop(labels, lo, hi)
	if err != nil {
		return err
	}
	mm, err := mesh.MarchingCubes(box, mesh.Options{Select: func(x float32) bool { return x > 0 }, Closed: true})
	if err != nil {
		return err
	}
	return mesh.WriteFile(path, mm)
}
