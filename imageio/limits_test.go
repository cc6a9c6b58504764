package imageio

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otoseg/otoseg/volume"
)

// hugeNIfTI writes a .nii.gz whose header claims 1536 x 1536 x 900 int16
// voxels (4.25 GB on disk, 8.5 GB as float32) but holds 1 MB of them: the
// shape of a 4 MB file that inflates to 4.25 GB.
func hugeNIfTI(t *testing.T, dir string) string {
	t.Helper()
	small := filepath.Join(dir, "small.nii")
	v := volume.New(volume.NewGeometry([3]int{4, 4, 4}, [3]float64{1, 1, 1}), volume.Int16)
	if err := Write(small, v); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(small)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range []int16{1536, 1536, 900} { // dim[1..3], NIfTI-1 bytes 42-47
		binary.LittleEndian.PutUint16(b[42+2*i:], uint16(d))
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	p := filepath.Join(dir, "huge.nii.gz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Headers claiming more voxels than the memory ceiling allows are refused
// from the header, in milliseconds, with an error naming the file, the
// estimate, the limit and how to raise it; a raised limit lets the read go
// on (to fail on the missing data, here).
func TestMemoryCeiling(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, path string
		opt        Options
		tooLarge   bool
	}{
		{"nifti.gz 1536x1536x900", hugeNIfTI(t, dir), Options{}, true},
		{"nrrd 1536x1536x900", write("huge.nrrd", "NRRD0004\ntype: short\ndimension: 3\nsizes: 1536 1536 900\nencoding: gzip\nendian: little\nspace: left-posterior-superior\nspace directions: (1,0,0) (0,1,0) (0,0,1)\nspace origin: (0,0,0)\n\n"), Options{}, true},
		{"mha 1536x1536x900", write("huge.mha", "ObjectType = Image\nNDims = 3\nDimSize = 1536 1536 900\nElementType = MET_SHORT\nElementSpacing = 1 1 1\nElementDataFile = LOCAL\n"), Options{}, true},
		{"mha 64^3 over a 1 MB limit", write("small.mha", "ObjectType = Image\nNDims = 3\nDimSize = 64 64 64\nElementType = MET_SHORT\nElementSpacing = 1 1 1\nElementDataFile = LOCAL\n"), Options{MaxBytes: 1 << 19}, true},
		{"nifti.gz with no limit", hugeNIfTI(t, t.TempDir()), Options{MaxBytes: -1}, false},
		{"mha 1536x1536x900 under a raised limit", filepath.Join(dir, "huge.mha"), Options{MaxBytes: 16 << 30}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t0 := time.Now()
			v, err := ReadWith(tc.path, tc.opt)
			if err == nil {
				t.Fatalf("read %v, want an error (the data are missing)", v.Dims)
			}
			if got := errors.Is(err, ErrTooLarge); got != tc.tooLarge {
				t.Fatalf("errors.Is(ErrTooLarge) = %v, want %v: %v", got, tc.tooLarge, err)
			}
			if !tc.tooLarge {
				return
			}
			if d := time.Since(t0); d > 2*time.Second {
				t.Errorf("refused after %v, want a header-only refusal", d)
			}
			for _, w := range []string{tc.path, "iB, more than the limit", "voxels", "MaxBytes", "--max-memory"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			h, err := Probe(tc.path, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if h.ReadBytes() <= tc.opt.limit() {
				t.Errorf("Probe estimates %d bytes", h.ReadBytes())
			}
		})
	}
}

// FuzzProbe feeds arbitrary bytes, named as each header-first format, to
// Probe and to ReadWith under a 64 KiB ceiling: an error or a volume, never
// a panic; whatever ReadWith returns fits the ceiling, and a header Probe
// sizes above the ceiling is refused with ErrTooLarge.
func FuzzProbe(f *testing.F) {
	v := volume.New(volume.NewGeometry([3]int{3, 2, 2}, [3]float64{1, 2, 3}), volume.Int16)
	for _, name := range []string{"s.nii", "s.nii.gz", "s.nrrd", "s.mha"} {
		p := filepath.Join(f.TempDir(), name)
		if err := Write(p, v); err != nil {
			f.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		f.Add(name, b)
	}
	f.Add("h.mha", []byte("ObjectType = Image\nNDims = 3\nDimSize = 1536 1536 900\nElementType = MET_SHORT\nElementDataFile = LOCAL\n"))
	f.Add("h.nrrd", []byte("NRRD0004\ntype: short\ndimension: 3\nsizes: 1536 1536 900\nencoding: raw\nendian: little\n\n"))
	const ceiling = 64 << 10
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		ext := map[bool]string{true: ".mha", false: ".nrrd"}[len(name)%2 == 0]
		switch {
		case strings.HasSuffix(name, ".nii"), strings.HasSuffix(name, ".nii.gz"):
			ext = ".nii"
			if strings.HasSuffix(name, ".gz") {
				ext = ".nii.gz"
			}
		}
		p := filepath.Join(t.TempDir(), "f"+ext)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		opt := Options{MaxBytes: ceiling}
		h, perr := Probe(p, opt)
		got, err := ReadWith(p, opt)
		if err == nil && int64(BytesPerVoxel*len(got.Data)) > ceiling {
			t.Fatalf("read %v voxels past a %d-byte ceiling", got.Dims, ceiling)
		}
		if perr == nil && h.ReadBytes() > ceiling && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Probe sized %d bytes, ReadWith said %v", h.ReadBytes(), err)
		}
	})
}

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in   string
		want int64 // 0: an error
	}{
		{"4GiB", 4 << 30}, {"6g", 6 << 30}, {"1.5G", 3 << 29}, {"512M", 512 << 20}, {"512MB", 512 << 20},
		{"100k", 100 << 10}, {"1T", 1 << 40}, {"1000", 1000}, {"none", -1}, {" Unlimited ", -1},
		{"", 0}, {"0", 0}, {"-1G", 0}, {"G", 0}, {"4X", 0}, {"NaN", 0}, {"1e30T", 0}, {"Inf", 0},
	}
	for _, tc := range tests {
		got, err := ParseBytes(tc.in)
		if tc.want == 0 {
			if err == nil {
				t.Errorf("ParseBytes(%q) = %d, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}
