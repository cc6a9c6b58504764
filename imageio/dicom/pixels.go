package dicom

import (
	"encoding/binary"
	"fmt"
)

// decodePixels turns one file's pixel payload into rescaled values (HU for
// CT) in dst, which holds cols*rows values, column index fastest (DICOM's
// own order, which is the volume's i-fastest order).
func decodePixels(sl *slice, p pixelPayload, dst []float32, tab *rescaleTable) error {
	n := sl.rows * sl.cols
	if len(dst) != n {
		return fmt.Errorf("internal: %d values for a %dx%d slice", len(dst), sl.cols, sl.rows)
	}
	ts, _ := lookupTS(sl.ts)
	var raw []byte
	bo := ts.byteOrder
	switch ts.codec {
	case "":
		raw = p.native
	case "rle":
		var err error
		raw, err = decodeRLE(joinFragments(p.fragments), sl.rows, sl.cols, sl.bitsAllocated)
		if err != nil {
			return fmt.Errorf("RLE Lossless: %w", err)
		}
		bo = binary.LittleEndian
	case "jpegll":
		samples, precision, err := decodeJPEGLossless(joinFragments(p.fragments), sl.rows, sl.cols)
		if err != nil {
			return fmt.Errorf("JPEG Lossless: %w", err)
		}
		if precision > sl.bitsAllocated {
			return fmt.Errorf("JPEG Lossless: %d-bit samples for BitsAllocated %d", precision, sl.bitsAllocated)
		}
		for i, s := range samples {
			dst[i] = rescale(sl, uint32(s))
		}
		return nil
	default:
		return fmt.Errorf("internal: unknown codec %q", ts.codec)
	}
	bytesPer := sl.bitsAllocated / 8
	if len(raw) < n*bytesPer {
		return fmt.Errorf("pixel data holds %d bytes, want %d for %dx%d %d-bit pixels", len(raw), n*bytesPer, sl.cols, sl.rows, sl.bitsAllocated)
	}
	switch bytesPer {
	case 1:
		for i := range dst {
			dst[i] = rescale(sl, uint32(raw[i]))
		}
	case 2:
		if len(dst) >= 1<<14 {
			// A 16-bit slice takes every value from a table of the 65,536
			// rescaled stored values, built once per series by
			// rescale itself, so the values are the same: per voxel a
			// call through the byte order's interface and a float64
			// multiply had been 10 ns, half a second on a whole head.
			t := tab.for16(sl)
			if bo == binary.LittleEndian {
				for i := range dst {
					dst[i] = t[binary.LittleEndian.Uint16(raw[2*i:])]
				}
			} else {
				for i := range dst {
					dst[i] = t[binary.BigEndian.Uint16(raw[2*i:])]
				}
			}
			break
		}
		for i := range dst {
			dst[i] = rescale(sl, uint32(bo.Uint16(raw[2*i:])))
		}
	case 4:
		for i := range dst {
			dst[i] = rescale(sl, bo.Uint32(raw[4*i:]))
		}
	}
	return nil
}

// rescaleTable holds rescale of every 16-bit stored value for one
// combination of BitsStored, sign, slope and intercept, which a series
// shares; one per decoding goroutine.
type rescaleTable struct {
	bits          int
	signed, valid bool
	slope, inter  float64
	vals          []float32
}

// for16 returns the table for sl's rescaling, rebuilding it when sl's
// differs from the last.
func (t *rescaleTable) for16(sl *slice) []float32 {
	if t.valid && t.bits == sl.bitsStored && t.signed == sl.signed && t.slope == sl.slope && t.inter == sl.intercept {
		return t.vals
	}
	if t.vals == nil {
		t.vals = make([]float32, 1<<16)
	}
	for v := range t.vals {
		t.vals[v] = rescale(sl, uint32(v))
	}
	t.bits, t.signed, t.slope, t.inter, t.valid = sl.bitsStored, sl.signed, sl.slope, sl.intercept, true
	return t.vals
}

// rescale keeps the BitsStored low bits of a stored value (bits above may
// hold overlays or garbage), sign-extends them for PixelRepresentation 1 and
// applies RescaleSlope and RescaleIntercept in float64 before rounding once
// to float32, as pydicom's pixel_array * slope + intercept does.
func rescale(sl *slice, v uint32) float32 {
	return float32(float64(storedValue(v, sl.bitsStored, sl.signed))*sl.slope + sl.intercept)
}

// storedValue interprets the low bits bits of v as an unsigned or two's
// complement signed integer.
func storedValue(v uint32, bits int, signed bool) int64 {
	if bits < 32 {
		v &= 1<<uint(bits) - 1
	}
	if signed && v&(1<<uint(bits-1)) != 0 {
		return int64(v) - 1<<uint(bits)
	}
	return int64(v)
}

func joinFragments(f [][]byte) []byte {
	if len(f) == 1 {
		return f[0]
	}
	var n int
	for _, b := range f {
		n += len(b)
	}
	out := make([]byte, 0, n)
	for _, b := range f {
		out = append(out, b...)
	}
	return out
}
