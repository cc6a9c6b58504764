// Package dicomseg writes and reads DICOM Segmentation objects (SEG, PS3.3
// A.51): the format a PACS stores and its viewers overlay on the CT, so
// otoseg's label maps can go back to where the scans came from.
//
// Write makes a binary SEG from a label map on the grid of a DICOM CT
// series: one segment per label (segment number = label value), coded
// with SNOMED CT where a verified concept exists (codes.go), the algorithm
// identified by name, version and model checksum, every frame's plane
// position and source image, and the series' patient, study and frame of
// reference. Read turns a binary SEG (otoseg's or another tool's) back into
// a label map.
package dicomseg

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"

	"time"

	"github.com/otoseg/otoseg/imageio/dicom"
	"github.com/otoseg/otoseg/imageio/dicomenc"
	"github.com/otoseg/otoseg/internal/atomicfile"
	"github.com/otoseg/otoseg/volume"
)

// SegmentationStorage is the SOP class of a DICOM Segmentation.
const SegmentationStorage = "1.2.840.10008.5.1.4.1.1.66.4"

// Segment describes one label of the map.
type Segment struct {
	Label int
	Name  string
	// Color is sRGB, components 0..1 (written as CIELab).
	Color [3]float64
}

// Options describe the algorithm and the new series.
type Options struct {
	// Segments lists labels 1..N in order (segment number = label value,
	// so a reader gets the same label map back). Every label present in
	// the map must be listed.
	Segments []Segment
	// Algorithm and Version name the software; ModelChecksum identifies
	// the model's weights (SHA-256, hex).
	Algorithm, Version, ModelChecksum string
	SeriesDescription                 string
	SeriesNumber                      int
	// Time is the content date and time; zero uses the time of writing.
	Time time.Time
}

// Write writes labels, a label map on the grid of the series ref
// describes, as a binary DICOM Segmentation at path, atomically.
func Write(path string, labels *volume.Volume, ref *dicom.Reference, o Options) error {
	if err := check(labels, ref, o); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	// Positions come from the series' own (float64) geometry, not the
	// label map's, which a NIfTI round trip rounds to float32.
	labels = &volume.Volume{Geometry: ref.Geometry, Data: labels.Data, DType: labels.DType}
	frames := planFrames(labels, len(o.Segments))
	ds, sop := buildDataset(labels, ref, o, frames)
	return atomicfile.Write(path, func(w io.Writer) error {
		return dicomenc.Write(w, SegmentationStorage, sop, ds)
	})
}

// check refuses what a SEG cannot say: a map off the series' grid, labels
// without a segment, segments out of order.
func check(labels *volume.Volume, ref *dicom.Reference, o Options) error {
	if err := labels.Check(); err != nil {
		return err
	}
	if ref == nil || len(ref.Instances) != ref.Geometry.Dims[2] {
		return fmt.Errorf("no source series to reference: a DICOM Segmentation needs the DICOM series it was made from")
	}
	if !labels.SameGrid(ref.Geometry, 1e-4) {
		return fmt.Errorf("label map grid %v at %v is not the grid of source series %s (%v at %v)", labels.Dims, labels.Origin, ref.SeriesUID, ref.Geometry.Dims, ref.Geometry.Origin)
	}
	if len(o.Segments) == 0 || len(o.Segments) > 255 {
		return fmt.Errorf("%d segments: want 1..255", len(o.Segments))
	}
	for i, s := range o.Segments {
		if s.Label != i+1 {
			return fmt.Errorf("segment %d has label %d: segments must list labels 1..N in order", i+1, s.Label)
		}
	}
	for i, x := range labels.Data {
		if x < 0 || x > float32(len(o.Segments)) || x != float32(int(x)) {
			return fmt.Errorf("voxel %d is %g: not a label of segments 1..%d", i, x, len(o.Segments))
		}
	}
	return nil
}

// frame is one SEG frame: a segment on one slice.
type frame struct{ segment, k int }

// planFrames lists the frames to write, by segment then slice: every slice
// where the segment has voxels. Empty frames are left out (as other SEG
// writers do) except one at the first and one at the last slice of the
// series, which keep the full extent for readers that rebuild the grid
// from frame positions (otoseg's, highdicom's).
func planFrames(labels *volume.Volume, nseg int) []frame {
	plane := labels.Dims[0] * labels.Dims[1]
	n := labels.Dims[2]
	has := make([][]bool, nseg+1)
	for s := range has {
		has[s] = make([]bool, n)
	}
	for k := 0; k < n; k++ {
		for _, x := range labels.Data[k*plane : (k+1)*plane] {
			if x > 0 {
				has[int(x)][k] = true
			}
		}
	}
	covered := func(k int) bool {
		for s := 1; s <= nseg; s++ {
			if has[s][k] {
				return true
			}
		}
		return false
	}
	ends := []int{0, n - 1}
	for _, k := range ends {
		if !covered(k) {
			has[1][k] = true
		}
	}
	var frames []frame
	for s := 1; s <= nseg; s++ {
		for k := 0; k < n; k++ {
			if has[s][k] {
				frames = append(frames, frame{s, k})
			}
		}
	}
	return frames
}

// contentHash identifies the segmentation for its UIDs.
func contentHash(labels *volume.Volume, ref *dicom.Reference, o Options) string {
	h := sha256.New()
	binary.Write(h, binary.LittleEndian, labels.Data)
	fmt.Fprintf(h, "%s|%s|%s|%s|%+v", ref.SeriesUID, o.Algorithm, o.Version, o.ModelChecksum, o.Segments)
	return fmt.Sprintf("%x", h.Sum(nil))
}

// packFrames packs the frames' voxels one bit each, frame after frame
// without padding between frames (PS3.5 8.1.1: BitsAllocated 1), first
// voxel in the least significant bit.
func packFrames(labels *volume.Volume, frames []frame) []byte {
	plane := labels.Dims[0] * labels.Dims[1]
	out := make([]byte, (len(frames)*plane+7)/8)
	bit := 0
	for _, f := range frames {
		for _, x := range labels.Data[f.k*plane : (f.k+1)*plane] {
			if int(x) == f.segment {
				out[bit/8] |= 1 << (bit % 8)
			}
			bit++
		}
	}
	return out
}
