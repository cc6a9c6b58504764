// Package segjob is the job otoseg's batch workers run: segment one scan
// with the model the job names and write the same outputs as `otoseg
// segment` (label map, JSON sidecar, and a DICOM Segmentation when asked),
// each atomically, so a job that runs twice leaves one complete copy.
package segjob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/otoseg/otoseg/batch"
	"github.com/otoseg/otoseg/ear"
	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/imageio/dicom"
	"github.com/otoseg/otoseg/imageio/dicomseg"
	"github.com/otoseg/otoseg/internal/atomicfile"
	"github.com/otoseg/otoseg/models"
	"github.com/otoseg/otoseg/segment"
)

// Options configure the handler.
type Options struct {
	// Version names otoseg in DICOM Segmentations.
	Version string
}

// Handler returns a batch.Handler that segments each job's scan. Models
// are loaded on first use, one per job running at once, and checked
// against the checksum the job was submitted with: a model folder changed
// since submission fails the job at once rather than mixing models.
func Handler(o Options) batch.Handler {
	h := &handler{opt: o, pools: map[string]chan *segment.Model{}}
	return h.handle
}

type handler struct {
	opt   Options
	mu    sync.Mutex
	pools map[string]chan *segment.Model
}

func (h *handler) handle(ctx context.Context, job batch.Job) error {
	a := job.Args
	m, name, err := h.take(a.Model, a.ModelSum)
	if err != nil {
		return err
	}
	defer h.give(a.Model+"|"+a.ModelSum, m)
	if err := os.MkdirAll(filepath.Dir(a.Output), 0o755); err != nil {
		return err
	}
	opts := segment.DefaultOptions()
	opts.Mirror = a.TTA
	rep, err := m.SegmentFile(ctx, a.Input, a.Output, segment.FileOptions{Options: opts})
	if err != nil && !errors.Is(err, segment.ErrNoEar) {
		return err
	}
	noEar := errors.Is(err, segment.ErrNoEar)
	rep.Model = name
	// --dicom-seg applies to DICOM inputs; image files get the other outputs.
	if a.DICOMSeg && !noEar && imageio.FormatOf(a.Input) == imageio.DICOM {
		p := SEGPath(a.Output)
		if err := WriteSEG(a.Input, "", a.Output, p, a.ModelSum, h.opt.Version, job.Created); err != nil {
			return err
		}
		rep.Outputs = append(rep.Outputs, p)
	}
	// The sidecar comes last: its presence means the job's outputs are all there.
	return WriteJSON(segment.Sidecar(a.Output), rep)
}

// take returns a loaded model for (dir, sum), loading one if none is free.
func (h *handler) take(dir, sum string) (*segment.Model, string, error) {
	key := dir + "|" + sum
	h.mu.Lock()
	pool, ok := h.pools[key]
	if !ok {
		pool = make(chan *segment.Model, 64)
		h.pools[key] = pool
	}
	h.mu.Unlock()
	name := dir
	if dir == "" {
		name = "built-in baseline"
	}
	select {
	case m := <-pool:
		return m, name, nil
	default:
	}
	fsys := models.Baseline()
	if dir != "" {
		fsys = os.DirFS(dir)
	}
	got, err := segment.ModelChecksum(fsys)
	if err != nil {
		return nil, "", batch.Permanent(fmt.Errorf("model %s: %w", name, err))
	}
	if got != sum {
		return nil, "", batch.Permanent(fmt.Errorf("model %s has checksum %s, but the job was submitted for %s: resubmit with the model you mean", name, got, sum))
	}
	m, err := loadModel(fsys, dir)
	if err != nil {
		return nil, "", batch.Permanent(err)
	}
	return m, name, nil
}

func (h *handler) give(key string, m *segment.Model) {
	h.mu.Lock()
	pool := h.pools[key]
	h.mu.Unlock()
	select {
	case pool <- m:
	default:
	}
}

func loadModel(fsys fs.FS, dir string) (*segment.Model, error) {
	if dir == "" {
		m, err := segment.LoadModelFS(fsys)
		if err != nil {
			return nil, fmt.Errorf("built-in baseline model: %w", err)
		}
		return m, nil
	}
	return segment.LoadModel(dir)
}

// SEGPath is where a batch job's DICOM Segmentation goes: beside the
// label map, <case>_seg.dcm.
func SEGPath(labelMap string) string {
	return filepath.Join(filepath.Dir(labelMap), segment.CaseName(labelMap)+"_seg.dcm")
}

// WriteSEG writes the label map at labelsPath, segmented from the DICOM
// series in (series picks one; empty the largest), as a DICOM Segmentation
// at segPath. when is its content date (zero: now).
func WriteSEG(in, series, labelsPath, segPath, modelSum, version string, when time.Time) error {
	if imageio.FormatOf(in) != imageio.DICOM {
		return fmt.Errorf("%s: not DICOM: a DICOM Segmentation must reference the DICOM images it was made from", in)
	}
	ref, err := dicom.ReadReference(in, dicom.Options{Series: series})
	if err != nil {
		return err
	}
	labels, err := imageio.Read(labelsPath)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(segPath), 0o755); err != nil {
		return err
	}
	var segs []dicomseg.Segment
	for _, s := range ear.Structures() {
		c := s.Colour
		segs = append(segs, dicomseg.Segment{Label: int(s.Label), Name: s.Name, Color: [3]float64{float64(c.R) / 255, float64(c.G) / 255, float64(c.B) / 255}})
	}
	return dicomseg.Write(segPath, labels, ref, dicomseg.Options{
		Segments: segs, Algorithm: "otoseg", Version: version, ModelChecksum: modelSum,
		SeriesDescription: "otoseg inner ear segmentation", Time: when,
	})
}

// WriteJSON writes v as indented JSON to path atomically.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, append(b, '\n'))
}

// ModelChecksum is the checksum of the model folder dir, or of the
// built-in baseline when dir is empty.
func ModelChecksum(dir string) (string, error) {
	if dir == "" {
		return segment.ModelChecksum(models.Baseline())
	}
	return segment.ModelChecksum(os.DirFS(dir))
}
