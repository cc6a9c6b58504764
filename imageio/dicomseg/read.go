package dicomseg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	sdicom "github.com/suyashkumar/dicom"

	"github.com/otoseg/otoseg/imageio/dicom"
	"github.com/otoseg/otoseg/imageio/dicomenc"
	"github.com/otoseg/otoseg/volume"
)

// Info describes a Segmentation read back.
type Info struct {
	SeriesUID string `json:"series_uid"`
	// ReferencedSeries is the source series' SeriesInstanceUID.
	ReferencedSeries string        `json:"referenced_series"`
	Segments         []SegmentInfo `json:"segments"`
	Frames           int           `json:"frames"`
}

// SegmentInfo is one segment: its number (the label value in the map
// Read returns), label and property type.
type SegmentInfo struct {
	Number int           `json:"number"`
	Label  string        `json:"label"`
	Type   dicomenc.Code `json:"type"`
}

// maxFileBytes caps a SEG file read whole (a 512x512x1000 binary SEG of
// three full segments is 98 MiB).
const maxFileBytes = 1 << 30

// maxSlices caps the slices of the grid rebuilt from frame positions, so
// positions far apart cannot make Read allocate without bound.
const maxSlices = 4096

// IsSegmentation tells whether the file at path is a DICOM Segmentation,
// from its file meta information (the first 1 KiB).
func IsSegmentation(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, _ := io.ReadFull(f, head)
	return metaSOPClass(head[:n]) == SegmentationStorage
}

// metaSOPClass returns MediaStorageSOPClassUID (0002,0002) from the file
// meta information at the start of a Part 10 file (always explicit VR
// little endian), or "" when b does not hold one.
func metaSOPClass(b []byte) string {
	if len(b) < 132 || string(b[128:132]) != "DICM" {
		return ""
	}
	for p := 132; p+8 <= len(b); {
		group, elem := binary.LittleEndian.Uint16(b[p:]), binary.LittleEndian.Uint16(b[p+2:])
		if group != 2 {
			return ""
		}
		vr := string(b[p+4 : p+6])
		var length, start int
		switch vr {
		case "OB", "OW", "UN", "SQ", "UT", "UC", "UR", "OD", "OF", "OL", "OV":
			if p+12 > len(b) {
				return ""
			}
			length, start = int(binary.LittleEndian.Uint32(b[p+8:])), p+12
		default:
			length, start = int(binary.LittleEndian.Uint16(b[p+6:])), p+8
		}
		if length < 0 || start+length > len(b) {
			return ""
		}
		if elem == 0x0002 {
			return strings.TrimRight(string(b[start:start+length]), "\x00 ")
		}
		p = start + length
	}
	return ""
}

// Read reads a binary DICOM Segmentation as a uint8 label map: voxel value
// = segment number, 0 outside every segment. The grid is the frames':
// orientation and spacing from the functional groups, slices from the
// frames' plane positions (from the first to the last frame's plane).
// Fractional SEGs and overlapping segments, which a label map cannot hold,
// are errors naming the file.
func Read(path string) (*volume.Volume, *Info, error) {
	b, err := readCapped(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	v, info, err := decode(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, info, nil
}

func readCapped(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFileBytes {
		return nil, fmt.Errorf("larger than the %d bytes a Segmentation may have", maxFileBytes)
	}
	return b, nil
}

// segFrame is what decode needs of one frame.
type segFrame struct {
	segment int
	ipp     [3]float64
}

// decode parses a SEG held in b.
func decode(b []byte) (*volume.Volume, *Info, error) {
	ds, err := dicom.ParseFile(b, true)
	if err != nil {
		return nil, nil, err
	}
	top := item(ds.Elements)
	if c := top.str(tSOPClass); c != SegmentationStorage {
		return nil, nil, fmt.Errorf("SOP class %q is not a DICOM Segmentation (%s)", c, SegmentationStorage)
	}
	if st := top.str(tSegmentationType); st != "BINARY" {
		return nil, nil, fmt.Errorf("SegmentationType %q: only BINARY segmentations can be read as a label map", st)
	}
	rows, cols, nframes := top.int(tRows), top.int(tColumns), top.int(tNumberOfFrames)
	if rows <= 0 || cols <= 0 || nframes <= 0 || top.int(tBitsAllocated) != 1 {
		return nil, nil, fmt.Errorf("invalid Rows %d, Columns %d, NumberOfFrames %d or BitsAllocated %d", rows, cols, nframes, top.int(tBitsAllocated))
	}
	pixels, err := pixelBytes(&ds)
	if err != nil {
		return nil, nil, err
	}
	if need := (int64(rows)*int64(cols)*int64(nframes) + 7) / 8; int64(len(pixels)) < need {
		return nil, nil, fmt.Errorf("pixel data of %d bytes cannot hold %d frames of %dx%d bits", len(pixels), nframes, cols, rows)
	}
	info, err := segmentsOf(top)
	if err != nil {
		return nil, nil, err
	}
	info.Frames = nframes
	g, frames, err := geometry(top, rows, cols, nframes)
	if err != nil {
		return nil, nil, err
	}
	v, err := fill(g, frames, pixels, info)
	return v, info, err
}

// pixelBytes returns the native PixelData bytes.
func pixelBytes(ds *sdicom.Dataset) ([]byte, error) {
	for _, e := range ds.Elements {
		if dicomenc.T(e.Tag.Group, e.Tag.Element) != tPixelData || e.Value == nil {
			continue
		}
		info, ok := e.Value.GetValue().(sdicom.PixelDataInfo)
		if !ok || info.IsEncapsulated {
			return nil, errors.New("pixel data is not native (uncompressed) binary data")
		}
		return info.UnprocessedValueData, nil
	}
	return nil, errors.New("no PixelData")
}

// segmentsOf lists the segments and the referenced series.
func segmentsOf(top item) (*Info, error) {
	info := &Info{SeriesUID: top.str(tSeriesUID)}
	if rs := top.seq(tRefSeriesSeq); len(rs) > 0 {
		info.ReferencedSeries = rs[0].str(tSeriesUID)
	}
	for _, s := range top.seq(tSegmentSeq) {
		si := SegmentInfo{Number: s.int(tSegmentNumber), Label: s.str(tSegmentLabel)}
		if tc := s.seq(tTypeCodeSeq); len(tc) > 0 {
			si.Type = dicomenc.Code{Value: tc[0].str(t(0x0008, 0x0100)), Scheme: tc[0].str(t(0x0008, 0x0102)), Meaning: tc[0].str(t(0x0008, 0x0104))}
		}
		if si.Number < 1 || si.Number > 255 {
			return nil, fmt.Errorf("segment number %d: a label map holds segments 1..255", si.Number)
		}
		info.Segments = append(info.Segments, si)
	}
	if len(info.Segments) == 0 {
		return nil, errors.New("no SegmentSequence items")
	}
	return info, nil
}

// geometry rebuilds the grid from the functional groups: orientation and
// pixel spacing (per frame or shared, which must agree), and slices from
// the frames' positions along the normal.
func geometry(top item, rows, cols, nframes int) (volume.Geometry, []segFrame, error) {
	var g volume.Geometry
	shared := first(top.seq(tSharedFGSeq))
	per := top.seq(tPerFrameFGSeq)
	if len(per) != nframes {
		return g, nil, fmt.Errorf("%d per-frame functional group items for %d frames", len(per), nframes)
	}
	frames := make([]segFrame, nframes)
	var iop [6]float64
	var spacing [2]float64
	var between float64
	for i, f := range per {
		o, ok := groupFloats(f, shared, tPlaneOrientSeq, tIOP, 6)
		ps, ok2 := groupFloats(f, shared, tPixelMeasuresSeq, tPixelSpacing, 2)
		pos, ok3 := groupFloats(f, shared, tPlanePositionSeq, tIPP, 3)
		if !ok || !ok2 || !ok3 {
			return g, nil, fmt.Errorf("frame %d: missing or malformed ImageOrientationPatient, PixelSpacing or ImagePositionPatient", i+1)
		}
		if i == 0 {
			copy(iop[:], o)
			copy(spacing[:], ps)
			if sb, ok := groupFloats(f, shared, tPixelMeasuresSeq, tSpacingBetween, 1); ok {
				between = sb[0]
			} else if st, ok := groupFloats(f, shared, tPixelMeasuresSeq, tSliceThickness, 1); ok {
				between = st[0]
			}
		}
		for c := range 6 {
			if math.Abs(o[c]-iop[c]) > 1e-4 {
				return g, nil, fmt.Errorf("frame %d: orientation %v differs from frame 1's %v", i+1, o, iop)
			}
		}
		if math.Abs(ps[0]-spacing[0]) > 1e-6 || math.Abs(ps[1]-spacing[1]) > 1e-6 {
			return g, nil, fmt.Errorf("frame %d: pixel spacing %v differs from frame 1's %v", i+1, ps, spacing)
		}
		si := first(f.seq(tSegmentIDSeq))
		if si == nil {
			return g, nil, fmt.Errorf("frame %d: no SegmentIdentificationSequence", i+1)
		}
		frames[i] = segFrame{segment: si.int(tRefSegmentNumber), ipp: [3]float64{pos[0], pos[1], pos[2]}}
	}
	g, err := grid(iop, spacing, between, rows, cols, frames)
	return g, frames, err
}

// grid places the frames on a regular stack of slices.
func grid(iop [6]float64, spacing [2]float64, between float64, rows, cols int, frames []segFrame) (volume.Geometry, error) {
	var g volume.Geometry
	row := [3]float64{iop[0], iop[1], iop[2]}
	col := [3]float64{iop[3], iop[4], iop[5]}
	if math.Abs(norm(row)-1) > 1e-2 || math.Abs(norm(col)-1) > 1e-2 || math.Abs(dot(row, col)) > 1e-3 {
		return g, fmt.Errorf("ImageOrientationPatient %v is not two perpendicular unit vectors", iop)
	}
	if !(spacing[0] > 0) || !(spacing[1] > 0) {
		return g, fmt.Errorf("PixelSpacing %v is not positive", spacing)
	}
	normal := cross(row, col)
	d := make([]float64, len(frames))
	for i, f := range frames {
		d[i] = dot(f.ipp, normal)
	}
	lo, hi := d[0], d[0]
	loAt := 0
	for i, x := range d {
		if x < lo {
			lo, loAt = x, i
		}
		hi = math.Max(hi, x)
	}
	step := between
	if !(step > 0) {
		step = smallestGap(d)
	}
	n := 1
	if hi-lo > 0.01 {
		if !(step > 0) {
			return g, errors.New("frames at several positions but no slice spacing")
		}
		n = int(math.Round((hi-lo)/step)) + 1
	}
	if n > maxSlices {
		return g, fmt.Errorf("frames span %d slices, more than the %d allowed", n, maxSlices)
	}
	origin := frames[loAt].ipp
	for i, f := range frames {
		k := (d[i] - lo) / step
		if n > 1 && math.Abs(k-math.Round(k))*step > 0.01+1e-3*step {
			return g, fmt.Errorf("frame %d lies %.4g mm off the regular slice grid", i+1, math.Abs(k-math.Round(k))*step)
		}
		var off float64
		for r := range 3 {
			x := f.ipp[r] - origin[r] - (d[i]-lo)*normal[r]
			off += x * x
		}
		if math.Sqrt(off) > 0.01+1e-3*math.Abs(d[i]-lo) {
			return g, fmt.Errorf("frame %d lies %.4g mm across the slice plane from frame %d", i+1, math.Sqrt(off), loAt+1)
		}
	}
	if !(step > 0) {
		step = 1
	}
	g.Dims = [3]int{cols, rows, n}
	g.Spacing = [3]float64{spacing[1], spacing[0], step}
	g.Origin = origin
	for r := range 3 {
		g.Direction[r] = [3]float64{row[r], col[r], normal[r]}
	}
	return g, g.Validate()
}

// fill paints each frame's set bits with its segment number.
func fill(g volume.Geometry, frames []segFrame, pixels []byte, info *Info) (*volume.Volume, error) {
	known := map[int]bool{}
	for _, s := range info.Segments {
		known[s.Number] = true
	}
	v := volume.New(g, volume.Uint8)
	plane := g.Dims[0] * g.Dims[1]
	normal := [3]float64{g.Direction[0][2], g.Direction[1][2], g.Direction[2][2]}
	lo := dot(g.Origin, normal)
	for i, f := range frames {
		if !known[f.segment] {
			return nil, fmt.Errorf("frame %d refers to segment %d, which SegmentSequence does not define", i+1, f.segment)
		}
		k := int(math.Round((dot(f.ipp, normal) - lo) / g.Spacing[2]))
		dst := v.Data[k*plane : (k+1)*plane]
		bit := i * plane
		for p := range dst {
			if pixels[(bit+p)/8]&(1<<((bit+p)%8)) == 0 {
				continue
			}
			if dst[p] != 0 && int(dst[p]) != f.segment {
				return nil, fmt.Errorf("segments %d and %d overlap on slice %d: a label map cannot hold both", int(dst[p]), f.segment, k)
			}
			dst[p] = float32(f.segment)
		}
	}
	return v, nil
}

func smallestGap(d []float64) float64 {
	s := append([]float64(nil), d...)
	sort.Float64s(s)
	gap := 0.0
	for i := 1; i < len(s); i++ {
		if x := s[i] - s[i-1]; x > 0.01 && (gap == 0 || x < gap) {
			gap = x
		}
	}
	return gap
}

func dot(a, b [3]float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }
func norm(a [3]float64) float64   { return math.Sqrt(dot(a, a)) }
func cross(a, b [3]float64) [3]float64 {
	return [3]float64{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}

// item is a data set or sequence item as the library parses it.
type item []*sdicom.Element

func first(items []item) item {
	if len(items) == 0 {
		return nil
	}
	return items[0]
}

func (it item) find(tg dicomenc.Tag) *sdicom.Element {
	for _, e := range it {
		if e != nil && e.Value != nil && e.Tag.Group == tg.Group() && e.Tag.Element == tg.Element() {
			return e
		}
	}
	return nil
}

func (it item) str(tg dicomenc.Tag) string {
	if e := it.find(tg); e != nil {
		if v, ok := e.Value.GetValue().([]string); ok && len(v) > 0 {
			return strings.TrimRight(strings.TrimSpace(v[0]), "\x00")
		}
	}
	return ""
}

func (it item) int(tg dicomenc.Tag) int {
	if e := it.find(tg); e != nil {
		switch v := e.Value.GetValue().(type) {
		case []int:
			if len(v) > 0 {
				return v[0]
			}
		case []string:
			if len(v) > 0 {
				n, _ := strconv.Atoi(strings.TrimSpace(v[0]))
				return n
			}
		}
	}
	return 0
}

func (it item) floats(tg dicomenc.Tag, n int) ([]float64, bool) {
	return dicom.ElementFloats(it.find(tg), n)
}

func (it item) seq(tg dicomenc.Tag) []item {
	e := it.find(tg)
	if e == nil {
		return nil
	}
	items, _ := e.Value.GetValue().([]*sdicom.SequenceItemValue)
	out := make([]item, 0, len(items))
	for _, s := range items {
		if s == nil {
			continue
		}
		if els, ok := s.GetValue().([]*sdicom.Element); ok {
			out = append(out, els)
		}
	}
	return out
}

// groupFloats reads attribute a of functional group g: from the frame's
// item when it has the group, else from the shared item.
func groupFloats(frame, shared item, g, a dicomenc.Tag, n int) ([]float64, bool) {
	for _, src := range []item{frame, shared} {
		if gi := first(src.seq(g)); gi != nil {
			return gi.floats(a, n)
		}
	}
	return nil, false
}
