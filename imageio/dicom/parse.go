package dicom

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	sdicom "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// slice is what one file contributes to a series: the header fields the
// geometry and pixel decoding need. Pixel bytes are read in a second pass so
// a folder of many series never holds more than one file's pixels at once.
type slice struct {
	name string // file path or "archive.zip:entry", for messages
	ts   string // transfer syntax UID

	seriesUID, description, modality string
	seriesNumber, instance           int

	rows, cols                            int
	frames                                int
	bitsAllocated, bitsStored, highBit    int
	signed                                bool
	samples                               int
	photometric                           string
	slope, intercept                      float64
	ipp                                   [3]float64
	iop                                   [6]float64
	pixelSpacing                          [2]float64 // row spacing (between rows), column spacing
	sliceThickness                        float64
	hasIPP, hasIOP, hasSpacing, hasPixels bool
	// localizer marks scout images (ImageType value LOCALIZER), which some
	// scanners put in the series of the axial images they planned.
	localizer bool
	// derived marks images that are not original acquisitions (ImageType
	// value 1 DERIVED or value 2 SECONDARY: reformats, MIPs, screenshots).
	derived bool
	// kernel is ConvolutionKernel (0018,1210), values joined by "\".
	kernel string
	// unsupported is set for files whose transfer syntax is refused; their
	// headers are still read so ListSeries can show them.
	unsupported error
}

// Tags read from each file; tag.Tag values from the library's dictionary.
var (
	tagSeriesDescription  = tag.Tag{Group: 0x0008, Element: 0x103E}
	tagModality           = tag.Tag{Group: 0x0008, Element: 0x0060}
	tagImagerPixelSpacing = tag.Tag{Group: 0x0018, Element: 0x1164}
	tagConvolutionKernel  = tag.Tag{Group: 0x0018, Element: 0x1210}
)

// parsePixels selects whether parseSlice also returns the pixel payload.
type parsePixels bool

const (
	headerOnly parsePixels = false
	withPixels parsePixels = true
)

// pixelPayload is a file's pixel data as stored: raw bytes for native
// transfer syntaxes, fragments for encapsulated ones.
type pixelPayload struct {
	native    []byte
	fragments [][]byte
}

// parseSlice parses the DICOM file held in b. Files that are not DICOM give
// errNotDICOM; files without pixel data (DICOMDIR, reports) give a slice
// with hasPixels false. Errors do not name the file: callers wrap them with it.
func parseSlice(name string, b []byte, px parsePixels) (sl slice, payload pixelPayload, err error) {
	sl.name = name
	b, err = canonical(b)
	if err != nil {
		return sl, payload, err
	}
	res, err := scanFile(b)
	if err != nil {
		return sl, payload, err
	}
	sl.ts = res.transferSyntax
	ts, ok := lookupTS(res.transferSyntax)
	if !ok || ts.byteOrder == nil {
		return sl, payload, unsupportedTSError(res.transferSyntax)
	}
	sl.hasPixels = res.pixelStart >= 0
	if !ts.supported {
		// Listed (ListSeries shows it) but refused when read.
		sl.unsupported = unsupportedTSError(res.transferSyntax)
		px = headerOnly
	} else if res.encapsulated != (ts.codec != "") && sl.hasPixels {
		if res.encapsulated {
			return sl, payload, fmt.Errorf("encapsulated pixel data with native transfer syntax %s (%s)", ts.name, res.transferSyntax)
		}
		return sl, payload, fmt.Errorf("native pixel data with compressed transfer syntax %s (%s)", ts.name, res.transferSyntax)
	}
	data := res.clean
	opts := []sdicom.ParseOption{sdicom.SkipProcessingPixelDataValue()}
	// Native pixel data is taken straight from the element scanFile
	// checked, so the library parses the header only: its parse of a
	// slice's pixel data copied every value (a sixth of a DICOM read).
	native := px == withPixels && sl.hasPixels && sl.unsupported == nil && !res.encapsulated
	if (px == headerOnly || native) && sl.hasPixels {
		data = data[:res.pixelStart]
	}
	ds, err := parseGuarded(data, opts)
	if err != nil {
		return sl, payload, err
	}
	if err := sl.fill(&ds); err != nil {
		if sl.unsupported != nil {
			return sl, payload, sl.unsupported
		}
		return sl, payload, err
	}
	if sl.hasPixels && sl.unsupported == nil {
		if err := plausibleSize(&sl, ts.codec, res.pixelEnd-res.pixelStart); err != nil {
			return sl, payload, err
		}
	}
	if native {
		v, err := elementValue(res.clean[res.pixelStart:res.pixelEnd], ts)
		if err != nil {
			return sl, payload, fmt.Errorf("pixel data: %w", err)
		}
		payload.native = v
		return sl, payload, nil
	}
	if px == withPixels && sl.hasPixels {
		e, err := ds.FindElementByTag(tag.PixelData)
		if err != nil {
			return sl, payload, errors.New("pixel data element lost while parsing")
		}
		info, ok := e.Value.GetValue().(sdicom.PixelDataInfo)
		if !ok {
			return sl, payload, errors.New("pixel data has an unexpected value type")
		}
		if info.IsEncapsulated {
			for _, f := range info.Frames {
				if f == nil || !f.Encapsulated {
					return sl, payload, errors.New("malformed encapsulated pixel data")
				}
				payload.fragments = append(payload.fragments, f.EncapsulatedData.Data)
			}
		} else {
			payload.native = info.UnprocessedValueData
		}
	}
	return sl, payload, nil
}

// elementValue returns the value of the one element e holds, of defined
// length, header included, in the transfer syntax ts.
func elementValue(e []byte, ts transferSyntax) ([]byte, error) {
	hdr := 8 // tag, then a 4-byte length (implicit VR) or VR and a 2-byte length
	if !ts.implicit && len(e) >= 6 {
		switch string(e[4:6]) {
		case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT":
			hdr = 12 // VR, 2 reserved bytes, a 4-byte length
		}
	}
	if len(e) < hdr {
		return nil, fmt.Errorf("element of %d bytes has no room for its header", len(e))
	}
	var n uint64
	if hdr == 12 || ts.implicit {
		n = uint64(ts.byteOrder.Uint32(e[hdr-4:]))
	} else {
		n = uint64(ts.byteOrder.Uint16(e[6:]))
	}
	if n != uint64(len(e)-hdr) {
		return nil, fmt.Errorf("element length %d, but %d bytes follow its header", n, len(e)-hdr)
	}
	return e[hdr:], nil
}

// parseGuarded runs the library's parser, turning any panic it still has
// (MustGet* on values of an unexpected type, for instance) into an error.
func parseGuarded(data []byte, opts []sdicom.ParseOption) (ds sdicom.Dataset, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed DICOM (parser failed: %v)", r)
		}
	}()
	ds, err = sdicom.Parse(bytes.NewReader(data), int64(len(data)), nil, opts...)
	if err != nil {
		return ds, fmt.Errorf("malformed DICOM: %w", err)
	}
	return ds, nil
}

// fill copies the header fields from ds, checking the ones it must trust.
func (sl *slice) fill(ds *sdicom.Dataset) error {
	sl.seriesUID = trimUID(firstString(ds, tag.SeriesInstanceUID))
	sl.description = strings.TrimSpace(firstString(ds, tagSeriesDescription))
	sl.modality = strings.TrimSpace(firstString(ds, tagModality))
	sl.seriesNumber, _ = intValue(ds, tag.SeriesNumber)
	if e, err := ds.FindElementByTag(tag.ImageType); err == nil && e.Value != nil {
		if v, ok := e.Value.GetValue().([]string); ok {
			for i, x := range v {
				x = strings.ToUpper(strings.TrimSpace(x))
				switch {
				case x == "LOCALIZER":
					sl.localizer = true
				case i == 0 && x == "DERIVED", i == 1 && x == "SECONDARY":
					sl.derived = true
				}
			}
		}
	}
	if e, err := ds.FindElementByTag(tagConvolutionKernel); err == nil && e.Value != nil {
		if v, ok := e.Value.GetValue().([]string); ok {
			var parts []string
			for _, x := range v {
				if x = strings.TrimSpace(x); x != "" {
					parts = append(parts, x)
				}
			}
			sl.kernel = strings.Join(parts, `\`)
		}
	}
	sl.instance, _ = intValue(ds, tag.InstanceNumber)
	// Files without SeriesInstanceUID (a Type 1 attribute some hand-made
	// files omit) form one series with an empty UID.
	if !sl.hasPixels {
		return nil
	}
	var err error
	need := func(t tag.Tag, name string) int {
		v, ok := intValue(ds, t)
		if !ok && err == nil {
			err = fmt.Errorf("missing or malformed %s %s", name, t)
		}
		return v
	}
	sl.rows = need(tag.Rows, "Rows")
	sl.cols = need(tag.Columns, "Columns")
	sl.bitsAllocated = need(tag.BitsAllocated, "BitsAllocated")
	sl.bitsStored = need(tag.BitsStored, "BitsStored")
	sl.highBit = need(tag.HighBit, "HighBit")
	pr := need(tag.PixelRepresentation, "PixelRepresentation")
	if err != nil {
		return err
	}
	sl.signed = pr == 1
	sl.samples = 1
	if v, ok := intValue(ds, tag.SamplesPerPixel); ok {
		sl.samples = v
	}
	sl.frames = 1
	if v, ok := intValue(ds, tag.NumberOfFrames); ok {
		sl.frames = v
	}
	sl.photometric = strings.TrimSpace(firstString(ds, tag.PhotometricInterpretation))
	sl.slope, sl.intercept = 1, 0
	if v, ok := floats(ds, tag.RescaleSlope, 1); ok {
		sl.slope = v[0]
	}
	if v, ok := floats(ds, tag.RescaleIntercept, 1); ok {
		sl.intercept = v[0]
	}
	if v, ok := floats(ds, tag.ImagePositionPatient, 3); ok {
		copy(sl.ipp[:], v)
		sl.hasIPP = true
	}
	if v, ok := floats(ds, tag.ImageOrientationPatient, 6); ok {
		copy(sl.iop[:], v)
		sl.hasIOP = true
	}
	// PixelSpacing is required for CT; projection images may carry only
	// ImagerPixelSpacing; without either, 1 mm as ITK and GDCM assume.
	sl.pixelSpacing = [2]float64{1, 1}
	if v, ok := floats(ds, tag.PixelSpacing, 2); ok {
		copy(sl.pixelSpacing[:], v)
		sl.hasSpacing = true
	} else if v, ok := floats(ds, tagImagerPixelSpacing, 2); ok {
		copy(sl.pixelSpacing[:], v)
		sl.hasSpacing = true
	}
	if v, ok := floats(ds, tag.SliceThickness, 1); ok {
		sl.sliceThickness = v[0]
	}
	if sl.unsupported != nil {
		return nil
	}
	return sl.checkPixelFormat()
}

// checkPixelFormat refuses pixel layouts this reader does not decode, before
// any size is trusted.
func (sl *slice) checkPixelFormat() error {
	switch {
	case sl.rows <= 0 || sl.cols <= 0 || sl.rows > 65535 || sl.cols > 65535:
		return fmt.Errorf("invalid image size %dx%d", sl.cols, sl.rows)
	case sl.frames != 1:
		return fmt.Errorf("NumberOfFrames is %d: multi-frame (enhanced) images are not supported, only one slice per file", sl.frames)
	case sl.samples != 1:
		return fmt.Errorf("SamplesPerPixel is %d: only grey-level images are supported", sl.samples)
	case sl.photometric != "" && sl.photometric != "MONOCHROME2" && sl.photometric != "MONOCHROME1":
		return fmt.Errorf("PhotometricInterpretation %s: only MONOCHROME1/2 images are supported", sl.photometric)
	case sl.bitsAllocated != 8 && sl.bitsAllocated != 16 && sl.bitsAllocated != 32:
		return fmt.Errorf("BitsAllocated %d: only 8, 16 and 32 are supported", sl.bitsAllocated)
	case sl.bitsStored < 1 || sl.bitsStored > sl.bitsAllocated:
		return fmt.Errorf("BitsStored %d with BitsAllocated %d", sl.bitsStored, sl.bitsAllocated)
	case sl.highBit != sl.bitsStored-1:
		return fmt.Errorf("HighBit %d with BitsStored %d: only HighBit = BitsStored-1 is supported", sl.highBit, sl.bitsStored)
	case math.IsNaN(sl.slope) || math.IsInf(sl.slope, 0) || sl.slope == 0 || math.IsNaN(sl.intercept) || math.IsInf(sl.intercept, 0):
		return fmt.Errorf("invalid RescaleSlope %g / RescaleIntercept %g", sl.slope, sl.intercept)
	}
	return nil
}

// firstString is the first string value of tag t, or "".
func firstString(ds *sdicom.Dataset, t tag.Tag) string {
	e, err := ds.FindElementByTag(t)
	if err != nil || e.Value == nil {
		return ""
	}
	if v, ok := e.Value.GetValue().([]string); ok && len(v) > 0 {
		return v[0]
	}
	return ""
}

// intValue reads a US/SS/UL/SL value or an IS string.
func intValue(ds *sdicom.Dataset, t tag.Tag) (int, bool) {
	e, err := ds.FindElementByTag(t)
	if err != nil || e.Value == nil {
		return 0, false
	}
	switch v := e.Value.GetValue().(type) {
	case []int:
		if len(v) > 0 {
			return v[0], true
		}
	case []string:
		if len(v) > 0 {
			n, err := strconv.Atoi(strings.TrimSpace(v[0]))
			return n, err == nil
		}
	}
	return 0, false
}

// floats reads n decimal-string (DS) or float values of tag t; all must be finite.
func floats(ds *sdicom.Dataset, t tag.Tag, n int) ([]float64, bool) {
	e, err := ds.FindElementByTag(t)
	if err != nil {
		return nil, false
	}
	return ElementFloats(e, n)
}

// ElementFloats reads the n decimal-string (DS) or float values of e, all
// finite; false for any other count, type or value. Shared with the
// Segmentation reader, whose elements sit in sequence items.
func ElementFloats(e *sdicom.Element, n int) ([]float64, bool) {
	if e == nil || e.Value == nil {
		return nil, false
	}
	var out []float64
	switch v := e.Value.GetValue().(type) {
	case []string:
		if len(v) != n {
			return nil, false
		}
		for _, s := range v {
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return nil, false
			}
			out = append(out, f)
		}
	case []float64:
		if len(v) != n {
			return nil, false
		}
		out = append(out, v...)
	default:
		return nil, false
	}
	for _, f := range out {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, false
		}
	}
	return out, true
}

// plausibleSize checks Rows x Columns against the bytes the pixel data
// element really holds, so a header cannot make Read allocate a volume far
// larger than its input: native data must hold every pixel, RLE expands at
// most 64-fold (2 bytes per run of 128), and lossless JPEG spends at least
// one bit per sample.
func plausibleSize(sl *slice, codec string, stored int) error {
	pixels := int64(sl.rows) * int64(sl.cols)
	need := pixels * int64(sl.bitsAllocated/8)
	var ok bool
	switch codec {
	case "":
		ok = int64(stored) >= need
	case "rle":
		ok = need <= 64*int64(stored)+64
	default:
		ok = pixels <= 8*int64(stored)
	}
	if !ok {
		return fmt.Errorf("pixel data of %d bytes cannot hold %dx%d %d-bit pixels", stored, sl.cols, sl.rows, sl.bitsAllocated)
	}
	return nil
}
