package npy

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, shape := range [][]int{{3}, {2, 3}, {1, 2, 2, 1, 2}, {}} {
		n := 1
		for _, s := range shape {
			n *= s
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(i) * 0.25
		}
		var buf bytes.Buffer
		if err := EncodeF32(&buf, shape, data); err != nil {
			t.Fatal(err)
		}
		if (buf.Len()-4*n)%64 != 0 {
			t.Errorf("shape %v: header not 64-byte aligned", shape)
		}
		a, err := Decode(buf.Bytes())
		if err != nil {
			t.Fatalf("shape %v: %v", shape, err)
		}
		if len(a.Shape) != len(shape) || a.Len() != n {
			t.Fatalf("shape %v read back as %v", shape, a.Shape)
		}
		for i, v := range a.F32() {
			if v != data[i] {
				t.Fatalf("shape %v: element %d = %v, want %v", shape, i, v, data[i])
			}
		}
	}
}

// TestNumPyReads checks the writer against NumPy itself and the reader
// against files NumPy wrote.
func TestNumPyReads(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.npy")
	if err := WriteF32(p, []int{2, 3}, []float32{1, 2, 3, 4, 5, 6.5}); err != nil {
		t.Fatal(err)
	}
	q := filepath.Join(dir, "b.npy")
	script := `import numpy as np, sys
a = np.load(sys.argv[1]); assert a.dtype == np.float32 and a.shape == (2, 3), (a.dtype, a.shape)
print(float(a.sum()))
np.save(sys.argv[2], np.arange(24, dtype=np.int64).reshape(2, 3, 4) - 5)`
	out, err := exec.Command("/usr/bin/python3", "-c", script, p, q).CombinedOutput()
	if err != nil {
		t.Fatalf("python3 numpy (needed for this check): %v\n%s", err, out)
	}
	if strings.TrimSpace(string(out)) != "21.5" {
		t.Fatalf("numpy read sum %s, want 21.5", out)
	}
	a, err := ReadFile(q)
	if err != nil {
		t.Fatal(err)
	}
	if a.DType != "<i8" || len(a.Shape) != 3 || a.Shape[2] != 4 || a.Data[0] != -5 || a.Data[23] != 18 {
		t.Fatalf("read %v %v %v..%v", a.DType, a.Shape, a.Data[0], a.Data[23])
	}
}

func TestDecodeErrors(t *testing.T) {
	var good bytes.Buffer
	if err := EncodeF32(&good, []int{4}, []float32{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	g := good.Bytes()
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "bad magic"},
		{"truncated data", g[:len(g)-1], "needs 16"},
		{"huge header", append([]byte("\x93NUMPY\x02\x00\xff\xff\xff\x7f"), 0), "cap"},
		{"fortran", bytes.Replace(g, []byte("False"), []byte("True "), 1), "C-order"},
		{"dtype", bytes.Replace(g, []byte("<f4"), []byte(">f4"), 1), "unsupported dtype"},
		{"huge shape", bytes.Replace(g, []byte("(4,)"), []byte("(9999999999)"), 1), ""},
	}
	for _, tc := range tests {
		_, err := Decode(tc.b)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not mention %q", tc.name, err, tc.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	var good bytes.Buffer
	EncodeF32(&good, []int{2, 2}, []float32{1, 2, 3, 4})
	f.Add(good.Bytes())
	f.Add([]byte("\x93NUMPY\x01\x00\x10\x00{'descr': '|u1'}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Decode(b)
		if err == nil && a.Len() != len(a.Data) {
			t.Fatalf("shape %v but %d elements", a.Shape, len(a.Data))
		}
	})
}
