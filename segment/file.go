package segment

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/imageio/dicom"
	"github.com/otoseg/otoseg/measure"
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
	// Measure adds each ear's measurements (package measure) to the report
	// and writes <name>_<side>_cochlear_view.png beside the label map.
	Measure bool
	// MaxBytes is the most memory reading and segmenting the scan may take
	// (EstimateBytes, from the header, before any voxel is read): 0 means
	// imageio.DefaultMaxBytes, a negative value no limit. Refusals wrap
	// imageio.ErrTooLarge.
	MaxBytes int64
	// Stage, if set, is called as each stage starts ("reading",
	// "segmenting", "writing"), for progress on a terminal.
	Stage func(name string)
}

func (o FileOptions) stage(name string) {
	if o.Stage != nil {
		o.Stage(name)
	}
}

// BytesPerVoxel is the peak memory a segmentation takes per scan voxel,
// measured: the scan and the label map as float32 (8 bytes), and the Go
// heap's headroom over what is live (the garbage collector lets the heap
// grow to twice the live data before collecting). A 512 x 512 x 200 head
// CT (52 M voxels) peaks at 0.65 GB from the command line (0.85 GB before
// the label map reused the scan's memory), so the estimate has headroom.
const BytesPerVoxel = 16

// fixedBytes is the rest of a segmentation's peak: the models, the
// localiser's coarse grid and the regions of interest (about 100 MB).
const fixedBytes = 128 << 20

// EstimateBytes is the memory segmenting a scan on grid g needs at peak.
func EstimateBytes(g volume.Geometry) int64 {
	return BytesPerVoxel*int64(g.Len()) + fixedBytes
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
	// Measure holds the measurements when FileOptions.Measure asks.
	Measure *measure.Record `json:"measure,omitempty"`
	// Series is the DICOM series segmented (UID, number, description,
	// kernel) and why it was chosen; absent for other formats.
	Series *dicom.Choice `json:"series,omitempty"`
	// Input is what the input check found: non-finite voxels (treated as
	// air), intensity percentiles, an offset corrected.
	Check *InputCheck `json:"input_check,omitempty"`
}

// SegmentFile reads a scan, segments it and writes the label map to out in
// the scan's geometry (plus the extra outputs o asks for). Seconds in the
// report run from the start of reading to the end of writing. The memory the
// work needs is estimated from the header and refused above o.MaxBytes
// before anything is read. A scan without an inner ear returns a report and
// an ErrNoEar (ErrNoLabyrinth when ears were located but held no
// labyrinth), and writes nothing; input that is not a 3-D CT in HU returns
// ErrNotVolume or ErrNotCT.
func (m *Model) SegmentFile(ctx context.Context, in, out string, o FileOptions) (*Report, error) {
	return segmentFile(ctx, func() (*Model, error) { return m, nil }, in, out, o)
}

// Loading is a model being loaded on its own goroutine (LoadAsync).
type Loading struct {
	done    chan struct{}
	model   *Model
	err     error
	seconds float64
}

// LoadAsync starts load on a new goroutine and returns at once, so that a
// command segmenting one scan reads it while the model loads
// (SegmentFileLoading) rather than after.
func LoadAsync(load func() (*Model, error)) *Loading {
	l := &Loading{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		t := time.Now()
		l.model, l.err = load()
		l.seconds = time.Since(t).Seconds()
	}()
	return l
}

// Wait returns the model once loaded, and the seconds loading took.
func (l *Loading) Wait() (*Model, float64, error) {
	<-l.done
	return l.model, l.seconds, l.err
}

// SegmentFileLoading is SegmentFile with a model that may still be
// loading: the scan is read and checked meanwhile, and the model awaited
// only when segmentation needs it. A model that fails to load fails the
// segmentation with its error, unwrapped.
func SegmentFileLoading(ctx context.Context, l *Loading, in, out string, o FileOptions) (*Report, error) {
	return segmentFile(ctx, func() (*Model, error) {
		m, _, err := l.Wait()
		return m, err
	}, in, out, o)
}

// segmentFile is SegmentFile with the model from model, called once the
// scan is read and checked.
func segmentFile(ctx context.Context, model func() (*Model, error), in, out string, o FileOptions) (*Report, error) {
	rep := &Report{Input: in, Ears: []Ear{}, Stages: map[string]float64{}}
	t0 := time.Now()
	o.stage("reading")
	ro := imageio.Options{Series: o.Series, PickVolume: o.PickVolume, Volume: o.Volume, MaxBytes: o.MaxBytes}
	// The memory segmentation needs is checked from the header, inside the
	// read: probing first had read a DICOM folder's every file twice.
	ro.Check = func(g volume.Geometry) error {
		d := g.Dims
		return imageio.CheckMemory(in, fmt.Sprintf("segmenting %dx%dx%d voxels", d[0], d[1], d[2]), EstimateBytes(g), ro)
	}
	img, series, err := imageio.ReadChosen(in, ro)
	if err != nil {
		return rep, err
	}
	rep.Series = series
	rep.Stages["read"] = time.Since(t0).Seconds()
	o.stage("segmenting")
	check, err := CheckInput(img, o.Options)
	if err != nil {
		return rep, refusal(rep, in, t0, err)
	}
	rep.Check = &check
	check.Apply(img) // the scan is ours: no copy
	m, err := model()
	if err != nil {
		return rep, err
	}
	// Measure's views need the scan after segmentation; otherwise this is
	// its last use, so segmentChecked can let it go before the label map
	// is allocated (and reuse its memory).
	var scan *volume.Volume
	if o.Measure {
		scan = img
	}
	results, err := m.segmentChecked(ctx, img, o.Options, []float64{o.ForegroundThreshold}, check)
	img = nil
	if err == nil && len(results[0].Ears) == 0 {
		err = ErrNoLabyrinth
	}
	if err != nil {
		return rep, refusal(rep, in, t0, err)
	}
	res := results[0]
	if o.Measure {
		rec, err := measure.Measure(res.Labels, measure.Options{})
		if err != nil {
			return rep, fmt.Errorf("segment %s: %w", in, err)
		}
		rep.Measure = rec
		pics, err := measure.WriteViews(filepath.Dir(out), CaseName(out), res.Labels, scan, rec, []string{in, out})
		if err != nil {
			return rep, err
		}
		rep.Outputs = append(rep.Outputs, pics...)
	}
	scan = nil // let the scan go before writing
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
	if err := writeExtras(rep, out, res, o); err != nil {
		return rep, err
	}
	rep.Stages["write"] = time.Since(t1).Seconds()
	rep.Seconds = time.Since(t0).Seconds()
	return rep, nil
}

// refusal records an answer that is not a segmentation (no ear, not CT, not
// a volume) in the report, and names the input in other errors (the
// command line puts its own name before it).
func refusal(rep *Report, in string, t0 time.Time, err error) error {
	rep.Seconds = time.Since(t0).Seconds()
	if errors.Is(err, ErrNoEar) || errors.Is(err, ErrNotCT) || errors.Is(err, ErrNotVolume) {
		rep.Message = err.Error()
		if errors.Is(err, ErrNoEar) {
			return err // an answer about the scan, as the caller prints it
		}
	}
	return fmt.Errorf("%s: %w", in, err)
}

// writeExtras writes the outputs beside the label map that o asks for.
func writeExtras(rep *Report, out string, res *Result, o FileOptions) error {
	if o.Slicer {
		p := filepath.Join(filepath.Dir(out), CaseName(out)+".seg.nrrd")
		// The same writer as -o x.seg.nrrd, so the two files are identical.
		if err := imageio.Write(p, res.Labels); err != nil {
			return err
		}
		rep.Outputs = append(rep.Outputs, p)
	}
	if o.Mesh {
		for _, e := range res.Ears {
			p := filepath.Join(filepath.Dir(out), CaseName(out)+"_"+e.Side+".stl")
			if err := writeEarMesh(p, res.Labels, e); err != nil {
				return err
			}
			rep.Outputs = append(rep.Outputs, p)
		}
	}
	return nil
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
