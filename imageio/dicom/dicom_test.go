package dicom

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/volume"
)

// expectation is what testdata/make_fixtures.py computed with pydicom.
type expectation struct {
	Series    string        `json:"series"`
	Dims      [3]int        `json:"dims"`
	Spacing   [3]float64    `json:"spacing"`
	Origin    [3]float64    `json:"origin"`
	Direction [3][3]float64 `json:"direction"`
	Min       float64       `json:"min"`
	Max       float64       `json:"max"`
	Mean      float64       `json:"mean"`
}

func loadExpected(t *testing.T, name string) (expectation, []float32) {
	t.Helper()
	var e expectation
	if name != "" {
		b, err := os.ReadFile(filepath.Join("testdata", "expected", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
	}
	return e, loadF32(t, name)
}

func loadF32(t *testing.T, name string) []float32 {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "expected", name+".f32"))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

// checkVolume compares v with pydicom's geometry (to 1e-6 mm) and voxels (exactly).
func checkVolume(t *testing.T, v *volume.Volume, e expectation, want []float32) {
	t.Helper()
	if err := v.Check(); err != nil {
		t.Fatal(err)
	}
	if v.Dims != e.Dims {
		t.Fatalf("dims %v, pydicom %v", v.Dims, e.Dims)
	}
	for a := 0; a < 3; a++ {
		if math.Abs(v.Spacing[a]-e.Spacing[a]) > 1e-6 {
			t.Errorf("spacing %v, pydicom %v", v.Spacing, e.Spacing)
		}
		if math.Abs(v.Origin[a]-e.Origin[a]) > 1e-6 {
			t.Errorf("origin %v, pydicom %v", v.Origin, e.Origin)
		}
		for c := 0; c < 3; c++ {
			if math.Abs(v.Direction[a][c]-e.Direction[a][c]) > 1e-6 {
				t.Errorf("direction %v, pydicom %v", v.Direction, e.Direction)
			}
		}
	}
	if len(v.Data) != len(want) {
		t.Fatalf("%d voxels, pydicom %d", len(v.Data), len(want))
	}
	bad := 0
	for i := range want {
		if v.Data[i] != want[i] {
			if bad < 5 {
				t.Errorf("voxel %d: %g, pydicom %g", i, v.Data[i], want[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d voxels differ from pydicom", bad, len(want))
	}
	st := v.Stats()
	if st.Min != e.Min || st.Max != e.Max || math.Abs(st.Mean-e.Mean) > 1e-6*math.Max(1, math.Abs(e.Mean)) {
		t.Errorf("stats %+v, pydicom min %g max %g mean %g", st, e.Min, e.Max, e.Mean)
	}
}

func TestReadMatchesPydicom(t *testing.T) {
	tests := []struct {
		path, series, expected string
		dtype                  volume.DType
	}{
		{"axial", "", "axial", volume.Int16}, // largest of two series, implicit VR, nested folders
		{"axial", "1.2.826.0.1.3680043.8.498.77.2", "axial_scout", volume.Float32},
		{"oblique", "", "oblique", volume.Int32},
		{"rle", "", "rle", volume.Int32},
		{"jpeg70", "", "jpeg70", volume.Int16},
		{"jpeg57", "", "jpeg57", volume.Int16},
		{"u8be", "", "u8be", volume.Uint8},
		{"s12", "", "s12", volume.Int16},
		{"headless", "", "headless", volume.Int16}, // pydicom save_as defaults: no preamble, no meta group length, no meta group
	}
	for _, tc := range tests {
		t.Run(tc.expected, func(t *testing.T) {
			v, err := Read(filepath.Join("testdata", tc.path), Options{Series: tc.series})
			if err != nil {
				t.Fatal(err)
			}
			e, want := loadExpected(t, tc.expected)
			checkVolume(t, v, e, want)
			if v.DType != tc.dtype {
				t.Errorf("dtype %v, want %v", v.DType, tc.dtype)
			}
		})
	}
}

// TestJPEGPredictors reads single files that dcmtk compressed with each
// lossless predictor and with a point transform, against pydicom reading
// dcmtk's own decompression of them.
func TestJPEGPredictors(t *testing.T) {
	for _, name := range []string{"sv1", "sv2", "sv3", "sv4", "sv5", "sv6", "sv7", "sv1_pt3"} {
		t.Run(name, func(t *testing.T) {
			v, err := Read(filepath.Join("testdata", "jpeg_predictors", name+".dcm"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			want := loadF32(t, "jpeg_predictors_"+name)
			if len(v.Data) != len(want) || v.Dims != [3]int{16, 12, 1} {
				t.Fatalf("dims %v, %d voxels; want 16x12x1", v.Dims, len(want))
			}
			for i := range want {
				if v.Data[i] != want[i] {
					t.Fatalf("voxel %d: %g, dcmtk+pydicom %g", i, v.Data[i], want[i])
				}
			}
		})
	}
}

func TestListSeries(t *testing.T) {
	got, err := ListSeries(filepath.Join("testdata", "axial"))
	if err != nil {
		t.Fatal(err)
	}
	want := []SeriesInfo{
		{UID: "1.2.826.0.1.3680043.8.498.77.1", Number: 1, Description: "axial bone", Modality: "CT", Slices: 8, Dims: [3]int{16, 12, 8},
			TransferSyntax: "Implicit VR Little Endian (1.2.840.10008.1.2)", Supported: true,
			KernelClass: KernelSharp, SliceSpacingMM: 0.7, PixelSpacingMM: [2]float64{0.5, 0.4}}, // "bone" in the description
		{UID: "1.2.826.0.1.3680043.8.498.77.2", Number: 2, Description: "scout", Modality: "CT", Slices: 3, Dims: [3]int{8, 6, 3},
			TransferSyntax: "Explicit VR Little Endian (1.2.840.10008.1.2.1)", Supported: true,
			KernelClass: KernelUnknown, SliceSpacingMM: 2.5, PixelSpacingMM: [2]float64{1.5, 1.25}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d series, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("series %d: got %#v, want %#v", i, got[i], want[i])
		}
	}
	j2k, err := ListSeries(filepath.Join("testdata", "err_j2k"))
	if err != nil {
		t.Fatal(err)
	}
	if len(j2k) != 1 || j2k[0].Supported || !strings.Contains(j2k[0].TransferSyntax, "JPEG 2000") {
		t.Errorf("JPEG 2000 series listed as %+v", j2k)
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		path, series string
		want         []string // substrings of the error
	}{
		{"err_tilt", "", []string{"gantry tilt", "IM00"}},
		{"err_missing", "", []string{"missing slice", "1 slice(s) missing", "IM0003", "IM0017"}},
		{"err_orient", "", []string{"mixed orientations", "IM0017"}},
		{"err_uneven", "", []string{"uneven slice spacing"}},
		{"err_duplicate", "", []string{"duplicate slice positions"}},
		{"err_size", "", []string{"mixed image sizes"}},
		{"err_j2k", "", []string{"unsupported transfer syntax", "JPEG 2000 Image Compression (Lossless Only)", "1.2.840.10008.1.2.4.90", "IM00"}},
		{"axial", "1.2.3", []string{`no series "1.2.3"`, "1.2.826.0.1.3680043.8.498.77.1", "axial bone"}},
		{"expected", "", []string{"no DICOM files found"}},
		{"axial/README.txt", "", []string{"README.txt", "not a DICOM file"}},
		{"missing-folder", "", []string{"missing-folder"}},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			v, err := Read(filepath.Join("testdata", tc.path), Options{Series: tc.series})
			if err == nil {
				t.Fatalf("read %v, want an error", v.Dims)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// writeZip stores the files under dir (and extra entries) in a zip at dst.
func writeZip(t *testing.T, dst, dir string, extra map[string][]byte) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	if _, err := zw.Create("nested/"); err != nil {
		t.Fatal(err)
	}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		w, err := zw.Create("nested/" + filepath.Base(p))
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range extra {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadZip(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "series.zip")
	// Entry names that would escape an extraction folder are only labels here.
	// A damaged DICOMDIR is not parsed.
	dicomdir := append(make([]byte, 128), "DICM\x02\x00garbage"...)
	writeZip(t, dst, filepath.Join("testdata", "oblique"), map[string][]byte{"../../etc/evil": []byte("not dicom"), "/abs/notes.txt": []byte("x"), "cd/DICOMDIR": dicomdir})
	v, err := Read(dst, Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, want := loadExpected(t, "oblique")
	checkVolume(t, v, e, want)
	list, err := ListSeries(dst)
	if err != nil || len(list) != 1 || list[0].Slices != 8 {
		t.Errorf("ListSeries(zip) = %+v, %v", list, err)
	}
}

// TestZipBomb feeds entries that inflate past the per-file and total caps,
// including one whose directory entry lies about its size.
func TestZipBomb(t *testing.T) {
	dir := t.TempDir()
	one, err := os.ReadFile(filepath.Join("testdata", "oblique", "IM0003"))
	if err != nil {
		t.Fatal(err)
	}
	big := append(append([]byte(nil), one...), make([]byte, 1<<20)...) // DICOM head, then 1 MiB of zeros
	lim := limits{fileBytes: 64 << 10, files: 100, totalBytes: 1 << 30}

	plain := filepath.Join(dir, "big.zip")
	writeZip(t, plain, filepath.Join("testdata", "err_size"), map[string][]byte{"bomb.dcm": big})
	if _, _, err := read(plain, Options{}, lim); err == nil || !strings.Contains(err.Error(), "bomb.dcm") {
		t.Errorf("oversized entry: err = %v, want one naming bomb.dcm", err)
	}

	// A raw entry whose header claims 2000 bytes but inflates to 1 MiB.
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestCompression)
	fw.Write(big)
	fw.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "liar.dcm", Method: zip.Deflate, CompressedSize64: uint64(comp.Len()), UncompressedSize64: 2000})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(comp.Bytes())
	zw.Close()
	liar := filepath.Join(dir, "liar.zip")
	os.WriteFile(liar, buf.Bytes(), 0o644)
	if _, _, err := read(liar, Options{}, lim); err == nil || !strings.Contains(err.Error(), "liar.dcm") {
		t.Errorf("lying entry: err = %v, want one naming liar.dcm", err)
	}

	// Many small files past the total cap.
	if _, _, err := read(filepath.Join("testdata", "oblique"), Options{}, limits{fileBytes: 1 << 20, files: 100, totalBytes: 3000}); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("total cap: err = %v", err)
	}
	if _, _, err := read(filepath.Join("testdata", "oblique"), Options{}, limits{fileBytes: 1 << 20, files: 3, totalBytes: 1 << 30}); err == nil || !strings.Contains(err.Error(), "more than 3 files") {
		t.Errorf("file count cap: err = %v", err)
	}
}

// memSource serves files from memory, for tests and fuzzing.
type memSource map[string][]byte

func (m memSource) each(fn func(string, []byte) error) error {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if looksDICOM(m[n]) {
			if err := fn(n, m[n]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m memSource) read(name string, _ []byte) ([]byte, error) { return m[name], nil }
func (m memSource) close() error                               { return nil }

// corruptSeeds are the fixture files the corruption test and fuzzers start from:
// one per transfer syntax and pixel layout.
var corruptSeeds = []string{"oblique/IM0003", "rle/IM0003", "jpeg57/IM0003", "jpeg70/IM0003", "axial/part1/IM0010", "u8be/IM0003", "err_j2k/IM0003", "headless/IM0003", "headless/IM0010", "headless/IM0017"}

// TestCorruptFilesNameTheFile truncates and scribbles over fixture files:
// every outcome must be a volume or an error naming the file, never a panic.
func TestCorruptFilesNameTheFile(t *testing.T) {
	for _, src := range corruptSeeds {
		data, err := os.ReadFile(filepath.Join("testdata", src))
		if err != nil {
			t.Fatal(err)
		}
		var variants [][]byte
		for cut := 0; cut < len(data); cut += 3 {
			variants = append(variants, data[:cut])
		}
		for pos := 128; pos < len(data); pos++ {
			for _, x := range []byte{0xFF, 0x00, 0x80, 0x7F} {
				b := append([]byte(nil), data...)
				b[pos] ^= x
				variants = append(variants, b)
			}
		}
		for i, b := range variants {
			v, _, err := readFrom(memSource{"slice.dcm": b}, "slice.dcm", Options{})
			if err != nil {
				if !strings.Contains(err.Error(), "slice.dcm") {
					t.Fatalf("%s variant %d: error %q does not name the file", src, i, err)
				}
				continue
			}
			if err := v.Check(); err != nil {
				t.Fatalf("%s variant %d: bad volume: %v", src, i, err)
			}
		}
	}
	// And through the file system, as a user meets it.
	p := filepath.Join(t.TempDir(), "cut.dcm")
	data, _ := os.ReadFile(filepath.Join("testdata", "oblique", "IM0003"))
	os.WriteFile(p, data[:len(data)-40], 0o644)
	if _, err := Read(p, Options{}); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("truncated file: err = %v, want one naming %s", err, p)
	}
}

// FuzzRead runs the whole reader (structural scan, library parse, pixel
// decoding, geometry) on one file of arbitrary bytes.
func FuzzRead(f *testing.F) {
	for _, src := range corruptSeeds {
		data, err := os.ReadFile(filepath.Join("testdata", src))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, _, err := readFrom(memSource{"f.dcm": b}, "f.dcm", Options{})
		if err != nil {
			if !strings.Contains(err.Error(), "f.dcm") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if err := v.Check(); err != nil {
			t.Fatal(err)
		}
	})
}

// fragmentOf returns the first pixel data fragment of a compressed fixture.
func fragmentOf(t testing.TB, path string) []byte {
	data, err := os.ReadFile(filepath.Join("testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	_, p, err := parseSlice(path, data, withPixels)
	if err != nil || len(p.fragments) == 0 {
		t.Fatalf("%s: %v (%d fragments)", path, err, len(p.fragments))
	}
	return p.fragments[0]
}

func FuzzDecodeRLE(f *testing.F) {
	f.Add(fragmentOf(f, "rle/IM0003"), uint8(12), uint8(16), true)
	f.Fuzz(func(t *testing.T, b []byte, rows, cols uint8, wide bool) {
		bits := 8
		if wide {
			bits = 16
		}
		out, err := decodeRLE(b, int(rows), int(cols), bits)
		if err == nil && len(out) != int(rows)*int(cols)*bits/8 {
			t.Fatalf("%d bytes for %dx%d", len(out), cols, rows)
		}
	})
}

func FuzzDecodeJPEGLossless(f *testing.F) {
	for _, p := range []string{"jpeg70/IM0003", "jpeg57/IM0003", "jpeg_predictors/sv4.dcm", "jpeg_predictors/sv1_pt3.dcm"} {
		f.Add(fragmentOf(f, p), uint8(12), uint8(16))
	}
	restart := make([]uint16, 8*6) // restart markers every two rows, point transform 1
	for i := range restart {
		restart[i] = uint16(i * 977)
	}
	f.Add(encodeLossless(restart, 8, 6, 16, 5, 1, 12), uint8(8), uint8(6))
	f.Fuzz(func(t *testing.T, b []byte, rows, cols uint8) {
		out, _, err := decodeJPEGLossless(b, int(rows), int(cols))
		if err == nil && len(out) != int(rows)*int(cols) {
			t.Fatalf("%d samples for %dx%d", len(out), cols, rows)
		}
	})
}

func TestStoredValue(t *testing.T) {
	tests := []struct {
		v      uint32
		bits   int
		signed bool
		want   int64
	}{
		{0x0FFF, 12, false, 4095},
		{0xF123, 12, false, 0x123}, // bits above BitsStored ignored
		{0x0FFB, 12, true, -5},     // 12-bit two's complement
		{0xFFFB, 12, true, -5},     // sign-extended on disk already
		{0x7FFB, 12, true, -5},     // garbage above BitsStored
		{0x07FF, 12, true, 2047},   // largest positive
		{0x8000, 16, true, -32768}, // full 16 bits
		{0x80, 8, true, -128},      // 8-bit signed
		{0xFFFFFFFF, 32, true, -1}, // 32-bit signed
		{0xFFFFFFFF, 32, false, 1<<32 - 1},
	}
	for _, tc := range tests {
		if got := storedValue(tc.v, tc.bits, tc.signed); got != tc.want {
			t.Errorf("storedValue(%#x, %d, %v) = %d, want %d", tc.v, tc.bits, tc.signed, got, tc.want)
		}
	}
}
