package dicom

import (
	"encoding/binary"
	"fmt"
)

// decodePixels turns one file's pixel payload into rescaled values (HU for
// CT) in dst, which holds cols*rows values, column index fastest (DICOM's
// own order, which is the volume's i-fastest order).
func decodePixels(sl *slice, p pixelPayload, dst []float32) error {
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
