package voxio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// TestEncodeDecode round-trips every kind in both byte orders, and checks
// rounding (half to even) and saturation on the way in.
func TestEncodeDecode(t *testing.T) {
	in := []float32{0, 1, -1, 2.5, 3.5, -2.5, 127.6, 300, -300, 70000, -70000, float32(math.NaN()), 1e10, -1e10}
	want := map[Kind][]float32{
		U8:  {0, 1, 0, 2, 4, 0, 128, 255, 0, 255, 0, 0, 255, 0},
		I8:  {0, 1, -1, 2, 4, -2, 127, 127, -128, 127, -128, 0, 127, -128},
		I16: {0, 1, -1, 2, 4, -2, 128, 300, -300, 32767, -32768, 0, 32767, -32768},
		U16: {0, 1, 0, 2, 4, 0, 128, 300, 0, 65535, 0, 0, 65535, 0},
		I32: {0, 1, -1, 2, 4, -2, 128, 300, -300, 70000, -70000, 0, math.MaxInt32, math.MinInt32},
		U32: {0, 1, 0, 2, 4, 0, 128, 300, 0, 70000, 0, 0, math.MaxUint32, 0},
		I64: {0, 1, -1, 2, 4, -2, 128, 300, -300, 70000, -70000, 0, 1e10, -1e10},
		U64: {0, 1, 0, 2, 4, 0, 128, 300, 0, 70000, 0, 0, 1e10, 0},
	}
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for k := U8; k <= F64; k++ {
			var buf bytes.Buffer
			if err := WriteFrom(&buf, in, k, order); err != nil {
				t.Fatal(err)
			}
			if buf.Len() != len(in)*k.Size() {
				t.Fatalf("%v: %d bytes", k, buf.Len())
			}
			out := make([]float32, len(in))
			if err := ReadInto(&buf, out, k, order); err != nil {
				t.Fatal(err)
			}
			exp, ok := want[k]
			if !ok {
				exp = in // floats are kept as they are
			}
			for i := range out {
				if out[i] != exp[i] && !(math.IsNaN(float64(out[i])) && math.IsNaN(float64(exp[i]))) {
					t.Errorf("%v %v: %v -> %v, want %v", k, order, in[i], out[i], exp[i])
				}
			}
		}
	}
}

func TestReadIntoTruncated(t *testing.T) {
	out := make([]float32, 4)
	err := ReadInto(bytes.NewReader([]byte{1, 2, 3}), out, I16, binary.LittleEndian)
	if !errors.Is(err, ErrTruncated) {
		t.Errorf("err = %v, want ErrTruncated", err)
	}
}

func TestChecks(t *testing.T) {
	for _, c := range []struct {
		end, size  int64
		compressed bool
		ok         bool
	}{
		{100, 100, false, true}, {101, 100, false, false}, {-1, 100, false, false},
		{1032 * 100, 100, true, true}, {1032*101 + 1032, 100, true, false}, {-5, 100, true, false},
	} {
		if err := CheckAvailable(c.end, c.size, c.compressed); (err == nil) != c.ok {
			t.Errorf("CheckAvailable(%d, %d, %v) = %v", c.end, c.size, c.compressed, err)
		}
	}
	if _, err := VoxelCount(1<<16, 1<<16, 1); err == nil {
		t.Error("2^32 voxels accepted")
	}
	if n, err := VoxelCount(512, 512, 200); err != nil || n != 512*512*200 {
		t.Errorf("VoxelCount = %d, %v", n, err)
	}
	if _, err := VoxelCount(5, 0, 5); err == nil {
		t.Error("zero dimension accepted")
	}
	for _, c := range []struct {
		nvol  int64
		pick  bool
		index int
		want  int64
		ok    bool
	}{
		{1, false, 0, 0, true}, {4, false, 0, 0, false}, {4, true, 3, 3, true}, {4, true, 4, 0, false}, {1, true, -1, 0, false},
	} {
		got, err := PickVolume(c.nvol, c.pick, c.index)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("PickVolume(%d, %v, %d) = %d, %v", c.nvol, c.pick, c.index, got, err)
		}
	}
}

func TestWriteHeaderAndData(t *testing.T) {
	dir := t.TempDir()
	data := func(w io.Writer) error { _, err := w.Write([]byte("DATA")); return err }
	one := filepath.Join(dir, "a.mha")
	if err := WriteHeaderAndData(one, "", []byte("HDR\n"), data); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(one); string(b) != "HDR\nDATA" {
		t.Errorf("attached: %q", b)
	}
	hdr, raw := filepath.Join(dir, "b.mhd"), filepath.Join(dir, "b.raw")
	if err := WriteHeaderAndData(hdr, raw, []byte("HDR\n"), data); err != nil {
		t.Fatal(err)
	}
	h, _ := os.ReadFile(hdr)
	d, _ := os.ReadFile(raw)
	if string(h) != "HDR\n" || string(d) != "DATA" {
		t.Errorf("detached: header %q, data %q", h, d)
	}
	// Failing data: no header may point at it.
	hdr2, raw2 := filepath.Join(dir, "c.mhd"), filepath.Join(dir, "c.raw")
	boom := errors.New("boom")
	if err := WriteHeaderAndData(hdr2, raw2, []byte("HDR\n"), func(io.Writer) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	for _, p := range []string{hdr2, raw2} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists after a failed write", p)
		}
	}
}

// BenchmarkCodec converts 16 M voxels the way a head CT is read (int16,
// little-endian) and its label map written (uint8):
//
//	go test ./imageio/internal/voxio -run XXX -bench Codec
func BenchmarkCodec(b *testing.B) {
	const n = 1 << 24
	vox := make([]float32, n)
	for i := range vox {
		vox[i] = float32(i%7 - 1024 + i%3000)
	}
	raw := make([]byte, 2*n)
	Encode(raw, vox, I16, binary.LittleEndian)
	b.Run("decode/int16", func(b *testing.B) {
		b.SetBytes(2 * n)
		for b.Loop() {
			Decode(vox, raw, I16, binary.LittleEndian)
		}
	})
	for i := range vox {
		vox[i] = float32(i % 11 / 8)
	}
	b.Run("encode/uint8", func(b *testing.B) {
		b.SetBytes(n)
		for b.Loop() {
			Encode(raw[:n], vox, U8, binary.LittleEndian)
		}
	})
}
