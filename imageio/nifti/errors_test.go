package nifti

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/volume"
)

// validFile returns the bytes of a small valid .nii (not gzipped).
func validFile(t testing.TB, dt volume.DType) []byte {
	t.Helper()
	g := volume.NewGeometry([3]int{4, 3, 2}, [3]float64{0.5, 0.6, 0.7})
	v := volume.New(g, dt)
	for i := range v.Data {
		v.Data[i] = float32(i)
	}
	p := filepath.Join(t.TempDir(), "v.nii")
	if err := Write(p, v); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// TestReadErrors: broken files are errors that name the file and the
// problem, and never panic.
func TestReadErrors(t *testing.T) {
	good := validFile(t, volume.Int16)
	patch := func(off int, val []byte) []byte {
		b := append([]byte(nil), good...)
		copy(b[off:], val)
		return b
	}
	i16 := func(v int16) []byte { b := make([]byte, 2); binary.LittleEndian.PutUint16(b, uint16(v)); return b }
	f32 := func(v float32) []byte {
		b := make([]byte, 4)
		binary.LittleEndian.PutUint32(b, math.Float32bits(v))
		return b
	}
	// A header claiming 1200^3 uint8 voxels followed by 64 KiB of gzip.
	bomb := patch(40, append(append(append(i16(3), i16(1200)...), i16(1200)...), i16(1200)...))
	copy(bomb[70:], i16(2))
	bomb = gzipBytes(append(bomb, make([]byte, 1<<16)...))
	fourD := patch(40, i16(4))
	copy(fourD[48:], i16(2))
	fourD = append(fourD, fourD[352:]...) // second volume
	cases := []struct {
		name string
		file string
		data []byte
		want string
	}{
		{"empty", "e.nii", nil, "reading header"},
		{"not nifti", "n.nii", []byte(strings.Repeat("hello world ", 40)), "not a NIfTI"},
		{"short header", "s.nii", good[:200], "truncated header"},
		{"truncated data", "t.nii", good[:len(good)-5], "truncated"},
		{"truncated gzip", "t.nii.gz", gzipBytes(good)[:len(gzipBytes(good))-30], "nifti"},
		{"corrupt gzip", "c.nii.gz", append([]byte{0x1f, 0x8b}, []byte("garbage garbage garbage")...), "gzip"},
		{"bad magic", "m.nii", patch(344, []byte("xx1\x00")), "magic"},
		{"bad dim0", "d.nii", patch(40, i16(9)), "dim[0]"},
		{"negative dim", "d.nii", patch(42, i16(-4)), "dimension"},
		{"too many voxels", "big.nii", patch(40, append(append(append(i16(3), i16(32000)...), i16(32000)...), i16(32000)...)), "exceed"},
		{"lying header bomb", "bomb.nii.gz", bomb, "cannot hold"},
		{"bad datatype", "dt.nii", patch(70, i16(128)), "datatype"},
		{"nan pixdim", "p.nii", patch(80, f32(float32(math.NaN()))), "pixdim"},
		{"bad vox_offset", "o.nii", patch(108, f32(-5)), "vox_offset"},
		{"zero sform", "z.nii", patch(280, make([]byte, 48)), "sform"},
		{"4-D without choice", "4d.nii", fourD, "4-D"},
		{"pair without img", "x.hdr", patch(344, []byte("ni1\x00")), "x.img"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), c.file)
			os.WriteFile(p, c.data, 0o644)
			_, err := Read(p, Options{})
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q should name %s and say %q", err, p, c.want)
			}
		})
	}
}

// TestPickVolume: --volume on a 3-D file accepts 0 only; out-of-range
// indices are errors.
func TestPickVolume(t *testing.T) {
	p := filepath.Join(t.TempDir(), "v.nii")
	os.WriteFile(p, validFile(t, volume.Uint8), 0o644)
	if _, err := Read(p, Options{PickVolume: true, Volume: 0}); err != nil {
		t.Errorf("volume 0 of a 3-D file: %v", err)
	}
	for _, n := range []int{1, -1} {
		if _, err := Read(p, Options{PickVolume: true, Volume: n}); err == nil || !strings.Contains(err.Error(), "1 volume") {
			t.Errorf("volume %d of a 3-D file: err = %v", n, err)
		}
	}
}

// TestPairFiles reads a .hdr/.img pair.
func TestPairFiles(t *testing.T) {
	good := validFile(t, volume.Int16)
	hdr := append([]byte(nil), good[:348]...)
	copy(hdr[344:], "ni1\x00")
	binary.LittleEndian.PutUint32(hdr[108:], math.Float32bits(0))
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "p.hdr"), hdr, 0o644)
	os.WriteFile(filepath.Join(dir, "p.img"), good[352:], 0o644)
	v, err := Read(filepath.Join(dir, "p.hdr"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range v.Data {
		if x != float32(i) {
			t.Fatalf("voxel %d = %v", i, x)
		}
	}
}

// TestBombAfterData: a .nii.gz whose gzip stream inflates to far more than
// its header announces reads as just the announced voxels. Read stops
// consuming the stream after them (voxio.ReadInto reads exactly len(dst)
// voxels), so trailing data is never inflated.
func TestBombAfterData(t *testing.T) {
	good := validFile(t, volume.Int16)
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	zw.Write(good)
	zeros := make([]byte, 1<<20)
	for range 64 { // 64 MiB of trailing zeros, about 64 KiB compressed
		zw.Write(zeros)
	}
	zw.Close()
	p := filepath.Join(t.TempDir(), "bomb.nii.gz")
	os.WriteFile(p, buf.Bytes(), 0o644)
	v, err := Read(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Data) != 24 || v.Data[23] != 23 {
		t.Errorf("read %d voxels, last %v", len(v.Data), v.Data[len(v.Data)-1])
	}
}
