package nrrd

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/otoseg/otoseg/imageio/internal/voxio"
	"github.com/otoseg/otoseg/volume"
)

// KeyValue is a NRRD key/value pair (written "key:=value").
type KeyValue struct{ Key, Value string }

// WriteOptions tune Write.
type WriteOptions struct {
	// Encoding is "gzip" (the default, as Slicer writes) or "raw".
	Encoding string
	// KeyValues are written after the fields, in order.
	KeyValues []KeyValue
}

// Write writes v as NRRD in LPS space, gzip-encoded, atomically. A name
// ending in .nhdr writes a detached header plus a data file next to it
// (NAME.raw or NAME.raw.gz).
func Write(path string, v *volume.Volume) error {
	return WriteWith(path, v, WriteOptions{})
}

// WriteWith is Write with options.
func WriteWith(path string, v *volume.Volume, opt WriteOptions) error {
	if err := writeWith(path, v, opt); err != nil {
		return fmt.Errorf("nrrd %s: %w", path, err)
	}
	return nil
}

func writeWith(path string, v *volume.Volume, opt WriteOptions) error {
	if err := v.Check(); err != nil {
		return err
	}
	enc := opt.Encoding
	switch enc {
	case "":
		enc = "gzip"
	case "gzip", "raw":
	default:
		return fmt.Errorf("encoding %q, want gzip or raw", enc)
	}
	for _, kv := range opt.KeyValues {
		if kv.Key == "" || strings.ContainsAny(kv.Key, ":\n") {
			return fmt.Errorf("key %q: keys must be non-empty without ':' or newlines", kv.Key)
		}
	}
	k := voxio.FromDType(v.DType)
	var hdr bytes.Buffer
	fmt.Fprintf(&hdr, "NRRD0004\n# Complete NRRD file format specification at:\n# http://teem.sourceforge.net/nrrd/format.html\n")
	fmt.Fprintf(&hdr, "type: %s\ndimension: 3\nspace: left-posterior-superior\n", writeTypeName[k])
	fmt.Fprintf(&hdr, "sizes: %d %d %d\n", v.Dims[0], v.Dims[1], v.Dims[2])
	hdr.WriteString("space directions:")
	for c := range 3 {
		col := make([]float64, 3)
		for r := range 3 {
			col[r] = v.Direction[r][c] * v.Spacing[c]
		}
		hdr.WriteString(" " + formatVector(col))
	}
	hdr.WriteString("\nkinds: domain domain domain\n")
	if k.Size() > 1 {
		hdr.WriteString("endian: little\n")
	}
	fmt.Fprintf(&hdr, "encoding: %s\n", enc)
	fmt.Fprintf(&hdr, "space origin: %s\n", formatVector(v.Origin[:]))
	detached := strings.HasSuffix(strings.ToLower(path), ".nhdr")
	var dataPath string
	if detached {
		dataPath = strings.TrimSuffix(path, filepath.Ext(path)) + ".raw"
		if enc == "gzip" {
			dataPath += ".gz"
		}
		fmt.Fprintf(&hdr, "data file: %s\n", filepath.Base(dataPath))
	}
	for _, kv := range opt.KeyValues {
		fmt.Fprintf(&hdr, "%s:=%s\n", kv.Key, escape(kv.Value))
	}
	hdr.WriteString("\n")
	writeData := func(w io.Writer) error {
		if enc == "gzip" {
			zw := voxio.Compress(w)
			if err := voxio.WriteFrom(zw, v.Data, k, binary.LittleEndian); err != nil {
				return err
			}
			return zw.Close()
		}
		return voxio.WriteFrom(w, v.Data, k, binary.LittleEndian)
	}
	return voxio.WriteHeaderAndData(path, dataPath, hdr.Bytes(), writeData)
}

// Segment describes one segment of a 3D Slicer segmentation.
type Segment struct {
	// ID is Slicer's segment ID (e.g. "cochlea"); empty uses "Segment_<label>".
	ID string
	// Name is shown in Slicer's segment list.
	Name string
	// Color is RGB in 0..1.
	Color [3]float64
	// LabelValue is the voxel value of this segment in the label map.
	LabelValue int
	// Layer is the layer index; single-layer files use 0.
	Layer int
	// Tags is Slicer's SegmentN_Tags value (e.g. a TerminologyEntry); empty
	// writes "Segmentation.Status:inprogress|".
	Tags string
}

// WriteSegmentation writes a label map as a 3D Slicer segmentation
// (.seg.nrrd): a single-layer uint8 volume plus the Segment<N>_* and
// Segmentation_* keys Slicer's Segmentations module reads, with each
// segment's extent computed from the voxels that carry its label.
func WriteSegmentation(path string, labels *volume.Volume, segs []Segment) error {
	if err := labels.Check(); err != nil {
		return fmt.Errorf("nrrd %s: %w", path, err)
	}
	if len(segs) == 0 {
		return fmt.Errorf("nrrd %s: a segmentation needs at least one segment", path)
	}
	seen := map[int]bool{}
	for _, s := range segs {
		if s.LabelValue < 1 || s.LabelValue > 255 {
			return fmt.Errorf("nrrd %s: segment %q has label %d, want 1..255", path, s.Name, s.LabelValue)
		}
		if s.Layer != 0 {
			return fmt.Errorf("nrrd %s: segment %q is in layer %d; only single-layer segmentations are written", path, s.Name, s.Layer)
		}
		if seen[s.LabelValue] {
			return fmt.Errorf("nrrd %s: label %d used by two segments", path, s.LabelValue)
		}
		seen[s.LabelValue] = true
	}
	ext := extents(labels)
	kv := []KeyValue{
		{"Segmentation_ContainedRepresentationNames", "Binary labelmap|"},
		{"Segmentation_ConversionParameters", ""},
		{"Segmentation_MasterRepresentation", "Binary labelmap"},
		{"Segmentation_ReferenceImageExtentOffset", "0 0 0"},
	}
	for i, s := range segs {
		id := s.ID
		if id == "" {
			id = "Segment_" + strconv.Itoa(s.LabelValue)
		}
		tags := s.Tags
		if tags == "" {
			tags = "Segmentation.Status:inprogress|"
		}
		e, ok := ext[s.LabelValue]
		extent := "0 -1 0 -1 0 -1" // Slicer's empty extent
		if ok {
			extent = fmt.Sprintf("%d %d %d %d %d %d", e[0], e[1], e[2], e[3], e[4], e[5])
		}
		p := fmt.Sprintf("Segment%d_", i)
		kv = append(kv,
			KeyValue{p + "Color", fmt.Sprintf("%s %s %s", fnum(s.Color[0]), fnum(s.Color[1]), fnum(s.Color[2]))},
			KeyValue{p + "ColorAutoGenerated", "0"},
			KeyValue{p + "Extent", extent},
			KeyValue{p + "ID", id},
			KeyValue{p + "LabelValue", strconv.Itoa(s.LabelValue)},
			KeyValue{p + "Layer", strconv.Itoa(s.Layer)},
			KeyValue{p + "Name", s.Name},
			KeyValue{p + "NameAutoGenerated", "0"},
			KeyValue{p + "Tags", tags},
		)
	}
	lv := *labels
	lv.DType = volume.Uint8
	return WriteWith(path, &lv, WriteOptions{KeyValues: kv})
}

func fnum(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// extents is the inclusive voxel bounding box (i0 i1 j0 j1 k0 k1) of each
// label value present.
func extents(v *volume.Volume) map[int][6]int {
	out := map[int][6]int{}
	nx, ny := v.Dims[0], v.Dims[1]
	for idx, x := range v.Data {
		l := int(x + 0.5)
		if l <= 0 {
			continue
		}
		i, j, k := idx%nx, (idx/nx)%ny, idx/(nx*ny)
		e, ok := out[l]
		if !ok {
			e = [6]int{i, i, j, j, k, k}
		} else {
			e = [6]int{min(e[0], i), max(e[1], i), min(e[2], j), max(e[3], j), min(e[4], k), max(e[5], k)}
		}
		out[l] = e
	}
	return out
}

// ReadSegments returns the segments a .seg.nrrd header describes, in
// SegmentN order.
func ReadSegments(path string) ([]Segment, error) {
	h, err := ReadHeader(path)
	if err != nil {
		return nil, err
	}
	var segs []Segment
	for i := 0; ; i++ {
		p := fmt.Sprintf("Segment%d_", i)
		id, ok := h.KeyValues[p+"ID"]
		if !ok {
			break
		}
		s := Segment{ID: id, Name: h.KeyValues[p+"Name"], Tags: h.KeyValues[p+"Tags"]}
		if f := strings.Fields(h.KeyValues[p+"Color"]); len(f) == 3 {
			for c := range 3 {
				s.Color[c], _ = strconv.ParseFloat(f[c], 64)
			}
		}
		if s.LabelValue, err = strconv.Atoi(h.KeyValues[p+"LabelValue"]); err != nil {
			return nil, fmt.Errorf("nrrd %s: %sLabelValue %q is not an integer", path, p, h.KeyValues[p+"LabelValue"])
		}
		s.Layer, _ = strconv.Atoi(h.KeyValues[p+"Layer"])
		segs = append(segs, s)
	}
	return segs, nil
}
