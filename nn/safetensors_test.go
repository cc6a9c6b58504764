package nn

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func sampleTensors() []NamedTensor {
	return []NamedTensor{
		{Name: "encoder.stages.0.0.convs.0.conv.weight", Shape: []int{2, 1, 3, 3, 3}, Data: seq(54, 0.5)},
		{Name: "encoder.stages.0.0.convs.0.conv.bias", Shape: []int{2}, Data: []float32{-1, 2.5}},
		{Name: "scalar", Shape: []int{}, Data: []float32{7}},
		{Name: "empty", Shape: []int{0, 3}, Data: []float32{}},
	}
}

func seq(n int, step float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(i) * step
	}
	return s
}

func TestSafetensorsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.safetensors")
	meta := map[string]string{"format": "pt", "architecture": `{"features":[4,8]}`}
	if err := SaveSafetensors(path, sampleTensors(), meta); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if n := binary.LittleEndian.Uint64(b); (8+n)%8 != 0 {
		t.Errorf("data not 8-byte aligned: header %d", n)
	}
	s, err := LoadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Metadata["architecture"] != meta["architecture"] {
		t.Errorf("metadata %v", s.Metadata)
	}
	for _, want := range sampleTensors() {
		got, ok := s.Get(want.Name)
		if !ok {
			t.Fatalf("tensor %q missing", want.Name)
		}
		if len(got.Shape) != len(want.Shape) || len(got.Data) != len(want.Data) {
			t.Fatalf("%q: shape %v, want %v", want.Name, got.Shape, want.Shape)
		}
		for i := range want.Data {
			if got.Data[i] != want.Data[i] {
				t.Fatalf("%q[%d] = %v, want %v", want.Name, i, got.Data[i], want.Data[i])
			}
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

// TestSafetensorsWithPython reads our file with a reader written from the
// format's specification in Python (json + numpy, as safetensors.numpy does),
// and reads a file Python wrote with F16, BF16 and F64 tensors.
func TestSafetensorsWithPython(t *testing.T) {
	dir := t.TempDir()
	ours := filepath.Join(dir, "ours.safetensors")
	theirs := filepath.Join(dir, "theirs.safetensors")
	if err := SaveSafetensors(ours, sampleTensors(), map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	script := `import json, struct, sys, numpy as np, torch
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8+n]); data = b[8+n:]
assert h.pop("__metadata__") == {"k": "v"}
for name, e in sorted(h.items()):
    a = np.frombuffer(data[e["data_offsets"][0]:e["data_offsets"][1]], dtype="<f4").reshape(e["shape"])
    assert e["dtype"] == "F32"
    print(name, list(a.shape), float(a.sum()))
x = torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4 - 0.5
parts, hdr, off = [], {"__metadata__": {"who": "python"}}, 0
for name, dt, t in [("h", "F16", x.half()), ("bf", "BF16", x.bfloat16()), ("d", "F64", x.double())]:
    raw = t.view(torch.int16).numpy().tobytes() if dt != "F64" else t.numpy().tobytes()
    hdr[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
    parts.append(raw); off += len(raw)
hb = json.dumps(hdr).encode()
open(sys.argv[2], "wb").write(struct.pack("<Q", len(hb)) + hb + b"".join(parts))`
	out, err := exec.Command("/usr/bin/python3", "-c", script, ours, theirs).CombinedOutput()
	if err != nil {
		t.Fatalf("python3 with numpy and torch (needed for this check): %v\n%s", err, out)
	}
	want := "empty [0, 3] 0.0\nencoder.stages.0.0.convs.0.conv.bias [2] 1.5\nencoder.stages.0.0.convs.0.conv.weight [2, 1, 3, 3, 3] 715.5\nscalar [] 7.0\n"
	if string(out) != want {
		t.Errorf("python read:\n%s\nwant:\n%s", out, want)
	}
	s, err := LoadSafetensors(theirs)
	if err != nil {
		t.Fatal(err)
	}
	if s.Metadata["who"] != "python" {
		t.Errorf("metadata %v", s.Metadata)
	}
	for _, name := range []string{"h", "bf", "d"} {
		tt, ok := s.Get(name)
		if !ok || len(tt.Shape) != 2 || tt.Shape[1] != 3 {
			t.Fatalf("%s: %+v", name, tt)
		}
		for i, v := range tt.Data {
			if w := float32(i)/4 - 0.5; v != w {
				t.Errorf("%s[%d] = %v, want %v", name, i, v, w)
			}
		}
	}
}

func stFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func TestSafetensorsErrors(t *testing.T) {
	four := make([]byte, 4)
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"short", []byte{1, 2}, "shorter"},
		{"huge header", binary.LittleEndian.AppendUint64(nil, 1<<40), "cap"},
		{"truncated header", stFile(`{"a":1}`, nil)[:10], "only"},
		{"not json", stFile(`[1,2]`, nil), "not a JSON object"},
		{"bad json", stFile(`{"a":`, nil), "JSON"},
		{"bad metadata", stFile(`{"__metadata__":{"a":1}}`, nil), "__metadata__"},
		{"dtype", stFile(`{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}`, make([]byte, 8)), "dtype"},
		{"offsets outside", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}}`, four), "outside"},
		{"size mismatch", stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, four), "needs 8"},
		{"gap", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "gap"},
		{"trailing", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 8)), "cover"},
		{"negative dim", stFile(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, four), "negative"},
		{"huge shape", stFile(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, four), "larger"},
	} {
		_, err := DecodeSafetensors(tc.b)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
	_, err := LoadSafetensors(filepath.Join(t.TempDir(), "missing.safetensors"))
	if err == nil || !strings.Contains(err.Error(), "missing.safetensors") {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.safetensors")
	os.WriteFile(bad, []byte{1, 2, 3}, 0o644)
	if _, err := LoadSafetensors(bad); err == nil || !strings.Contains(err.Error(), "bad.safetensors") {
		t.Errorf("error does not name the file: %v", err)
	}
	if err := WriteSafetensors(&bytes.Buffer{}, []NamedTensor{{Name: "a", Shape: []int{3}, Data: []float32{1}}}, nil); err == nil {
		t.Error("shape/data mismatch written")
	}
	if err := WriteSafetensors(&bytes.Buffer{}, []NamedTensor{{Name: "a", Shape: []int{1}, Data: []float32{1}}, {Name: "a", Shape: []int{1}, Data: []float32{1}}}, nil); err == nil {
		t.Error("duplicate names written")
	}
}

func FuzzDecodeSafetensors(f *testing.F) {
	var buf bytes.Buffer
	WriteSafetensors(&buf, sampleTensors(), map[string]string{"a": "b"})
	f.Add(buf.Bytes())
	f.Add(stFile(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Add(stFile(`{"__metadata__":{}}`, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSafetensors(b)
		if err != nil {
			return
		}
		for _, tt := range s.Tensors {
			n := 1
			for _, d := range tt.Shape {
				n *= d
			}
			if n != len(tt.Data) {
				t.Fatalf("tensor %q: shape %v with %d values", tt.Name, tt.Shape, len(tt.Data))
			}
		}
	})
}
