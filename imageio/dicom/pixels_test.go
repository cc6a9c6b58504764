package dicom

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"
)

// TestDecodeNative covers layouts the pydicom fixtures do not: 32-bit,
// signed 8-bit, dirty high bits, MONOCHROME1 and a short pixel buffer.
func TestDecodeNative(t *testing.T) {
	tests := []struct {
		name    string
		sl      slice
		raw     []byte
		want    []float32
		wantErr string
	}{
		{"u8", slice{bitsAllocated: 8, bitsStored: 8, ts: tsExplicitLE}, []byte{0, 255}, []float32{0, 255}, ""},
		{"s8", slice{bitsAllocated: 8, bitsStored: 8, signed: true, ts: tsExplicitLE}, []byte{0x80, 0x7F}, []float32{-128, 127}, ""},
		{"u16 dirty high bits", slice{bitsAllocated: 16, bitsStored: 12, ts: tsExplicitLE}, []byte{0xFF, 0xFF, 0x01, 0xF0}, []float32{4095, 1}, ""},
		{"s16 big endian", slice{bitsAllocated: 16, bitsStored: 16, signed: true, ts: tsExplicitBE}, []byte{0xFF, 0xFE, 0x00, 0x02}, []float32{-2, 2}, ""},
		{"s32", slice{bitsAllocated: 32, bitsStored: 32, signed: true, ts: tsImplicitLE}, binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 0xFFFFFFFF), 70000), []float32{-1, 70000}, ""},
		{"rescale", slice{bitsAllocated: 16, bitsStored: 16, signed: true, slope: 0.5, intercept: -1024, ts: tsExplicitLE}, []byte{0x00, 0x08, 0x01, 0x00}, []float32{0, -1023.5}, ""},
		{"short", slice{bitsAllocated: 16, bitsStored: 16, ts: tsExplicitLE}, []byte{1, 2, 3}, nil, "holds 3 bytes, want 4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sl := tc.sl
			sl.rows, sl.cols = 1, 2
			if sl.slope == 0 {
				sl.slope = 1
			}
			dst := make([]float32, 2)
			err := decodePixels(&sl, pixelPayload{native: tc.raw}, dst, &rescaleTable{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if dst[0] != tc.want[0] || dst[1] != tc.want[1] {
				t.Errorf("got %v, want %v", dst, tc.want)
			}
		})
	}
}

// rleFrame builds an RLE Lossless frame from PackBits segments.
func rleFrame(segs ...[]byte) []byte {
	out := make([]byte, 64)
	binary.LittleEndian.PutUint32(out, uint32(len(segs)))
	for i, s := range segs {
		binary.LittleEndian.PutUint32(out[4+4*i:], uint32(len(out)))
		out = append(out, s...)
	}
	return out
}

func TestDecodeRLE(t *testing.T) {
	tests := []struct {
		name    string
		frame   []byte
		bits    int
		want    []byte // little-endian samples
		wantErr string
	}{
		// 4 pixels, 8-bit: literal run of 2, then a replicate run of 2, then a -128 no-op.
		{"8-bit", rleFrame([]byte{1, 10, 20, 0xFF, 7, 0x80}), 8, []byte{10, 20, 7, 7}, ""},
		// 16-bit: high bytes plane first (replicate 0x01 four times), then low bytes.
		{"16-bit", rleFrame([]byte{0xFD, 0x01}, []byte{3, 1, 2, 3, 4}), 16, []byte{1, 1, 2, 1, 3, 1, 4, 1}, ""},
		{"padding ignored", rleFrame([]byte{3, 1, 2, 3, 4, 0}), 8, []byte{1, 2, 3, 4}, ""},
		{"segment count", rleFrame([]byte{3, 1, 2, 3, 4}), 16, nil, "1 segments"},
		{"short segment", rleFrame([]byte{1, 1, 2}), 8, nil, "decodes to 2 bytes, want 4"},
		{"run past image", rleFrame([]byte{0xF0, 9}), 8, nil, "past the end of the image"},
		{"literal past segment", rleFrame([]byte{5, 1}), 8, nil, "past the end of the segment"},
		{"short header", []byte{1, 0, 0}, 8, nil, "shorter than the 64-byte header"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeRLE(tc.frame, 2, 2, tc.bits)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestJPEGLosslessErrors checks the decoder refuses what it does not decode
// and notices truncation, starting from a dcmtk-written frame.
func TestJPEGLosslessErrors(t *testing.T) {
	good := fragmentOf(t, "jpeg57/IM0003")
	sof := strings.Index(string(good), "\xff\xc3")
	sos := strings.Index(string(good), "\xff\xda")
	if sof < 0 || sos < 0 {
		t.Fatal("fixture has no SOF3/SOS")
	}
	edit := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name  string
		frame []byte
		rows  int
		want  string
	}{
		{"baseline SOF", edit(func(b []byte) []byte { b[sof+1] = 0xC0; return b }), 12, "not lossless process 14"},
		{"size mismatch", good, 13, "DICOM header says 16x13"},
		{"truncated", good[:len(good)*2/3], 12, "ends before"},
		{"no SOI", good[2:], 12, "no SOI"},
		{"bad predictor", edit(func(b []byte) []byte { b[sos+7] = 0; return b }), 12, "predictor 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := decodeJPEGLossless(tc.frame, tc.rows, 16)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestDecodeTableMatchesRescale: a whole 16-bit slice decoded through the
// per-series table gives what rescale gives voxel by voxel, bit for bit,
// for each layout, and a slice with other rescaling rebuilds the table.
func TestDecodeTableMatchesRescale(t *testing.T) {
	const rows, cols = 128, 160
	raw := make([]byte, 2*rows*cols)
	seed := uint32(1)
	for i := range raw {
		seed = seed*1664525 + 1013904223
		raw[i] = byte(seed >> 24)
	}
	var tab rescaleTable // shared across the cases, as in one worker
	for _, sl := range []slice{
		{bitsAllocated: 16, bitsStored: 16, signed: true, slope: 1, intercept: -1024, ts: tsExplicitLE},
		{bitsAllocated: 16, bitsStored: 12, slope: 1, ts: tsExplicitLE},
		{bitsAllocated: 16, bitsStored: 16, signed: true, slope: 0.5, intercept: 3.25, ts: tsExplicitBE},
		{bitsAllocated: 16, bitsStored: 16, signed: true, slope: 1, intercept: -1024, ts: tsExplicitLE},
	} {
		sl.rows, sl.cols = rows, cols
		dst := make([]float32, rows*cols)
		if err := decodePixels(&sl, pixelPayload{native: raw}, dst, &tab); err != nil {
			t.Fatal(err)
		}
		ts, _ := lookupTS(sl.ts)
		for i, got := range dst {
			want := rescale(&sl, uint32(ts.byteOrder.Uint16(raw[2*i:])))
			if math.Float32bits(got) != math.Float32bits(want) {
				t.Fatalf("%+v voxel %d: %v, rescale gives %v", sl, i, got, want)
			}
		}
	}
}

// TestElementValue: the pixel bytes are cut from a PixelData element in
// each encoding, and a length that disagrees with the bytes is refused.
func TestElementValue(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	val := []byte{1, 2, 3, 4}
	explicitLE := append([]byte{0xE0, 0x7F, 0x10, 0x00, 'O', 'W', 0, 0}, le.AppendUint32(nil, 4)...)
	explicitBE := append([]byte{0x7F, 0xE0, 0x00, 0x10, 'O', 'B', 0, 0}, be.AppendUint32(nil, 4)...)
	implicit := append([]byte{0xE0, 0x7F, 0x10, 0x00}, le.AppendUint32(nil, 4)...)
	shortVR := append([]byte{0xE0, 0x7F, 0x10, 0x00, 'U', 'S'}, le.AppendUint16(nil, 4)...)
	for _, tc := range []struct {
		name    string
		e       []byte
		ts      string
		wantErr string
	}{
		{"explicit LE OW", append(explicitLE, val...), tsExplicitLE, ""},
		{"explicit BE OB", append(explicitBE, val...), tsExplicitBE, ""},
		{"implicit LE", append(implicit, val...), tsImplicitLE, ""},
		{"2-byte length VR", append(shortVR, val...), tsExplicitLE, ""},
		{"length past the bytes", append(explicitLE, val[:3]...), tsExplicitLE, "3 bytes follow"},
		{"no header", []byte{0xE0, 0x7F}, tsImplicitLE, "no room"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, _ := lookupTS(tc.ts)
			got, err := elementValue(tc.e, ts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(got, val) {
				t.Fatalf("got %v, %v; want %v", got, err, val)
			}
		})
	}
}
