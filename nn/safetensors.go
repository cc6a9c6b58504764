package nn

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"

	"github.com/otoseg/otoseg/internal/atomicfile"
)

// Safetensors is the weights format (https://github.com/huggingface/safetensors):
//
//	8 bytes    little-endian uint64 N, the header length
//	N bytes    JSON: {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//	           "__metadata__": {"key": "string value", ...}}, padded with spaces
//	rest       the tensors' bytes, little-endian, offsets relative to here
//
// PyTorch's safetensors.torch.load_file reads what SaveSafetensors writes.
// The loader reads F32, F64, F16 and BF16 into float32.

// MaxSafetensorsHeader caps the header length a file may declare, as the
// reference implementation does (100 MB); real headers are kilobytes.
const MaxSafetensorsHeader = 100_000_000

// NamedTensor is one tensor of a weights file.
type NamedTensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// Safetensors is a decoded weights file.
type Safetensors struct {
	Metadata map[string]string
	// Tensors in the order of their data in the file.
	Tensors []NamedTensor
}

// Get returns the tensor with the given name.
func (s *Safetensors) Get(name string) (*NamedTensor, bool) {
	for i := range s.Tensors {
		if s.Tensors[i].Name == name {
			return &s.Tensors[i], true
		}
	}
	return nil, false
}

// ParamTensors views parameters as named tensors (sharing their data).
func ParamTensors(params []*Param) []NamedTensor {
	out := make([]NamedTensor, len(params))
	for i, p := range params {
		out[i] = NamedTensor{Name: p.Name, Shape: p.Shape, Data: p.Data}
	}
	return out
}

type stEntry struct {
	DType       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets []uint64 `json:"data_offsets"`
}

// WriteSafetensors writes tensors as F32 with the given metadata (may be nil).
func WriteSafetensors(w io.Writer, tensors []NamedTensor, meta map[string]string) error {
	header := map[string]any{}
	if len(meta) > 0 {
		header["__metadata__"] = meta
	}
	var off uint64
	for _, t := range tensors {
		if t.Name == "" || t.Name == "__metadata__" {
			return fmt.Errorf("safetensors: invalid tensor name %q", t.Name)
		}
		if _, dup := header[t.Name]; dup {
			return fmt.Errorf("safetensors: duplicate tensor name %q", t.Name)
		}
		n := 1
		for _, s := range t.Shape {
			n *= s
		}
		if n != len(t.Data) {
			return fmt.Errorf("safetensors: tensor %q has shape %v but %d values", t.Name, t.Shape, len(t.Data))
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		end := off + 4*uint64(n)
		header[t.Name] = stEntry{DType: "F32", Shape: shape, DataOffsets: []uint64{off, end}}
		off = end
	}
	h, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("safetensors: header: %w", err)
	}
	// Pad with spaces so the data starts 8-byte aligned, as the reference does.
	h = append(h, bytes.Repeat([]byte(" "), (8-len(h)%8)%8)...)
	bw := bufio.NewWriterSize(w, 1<<20)
	var lenb [8]byte
	binary.LittleEndian.PutUint64(lenb[:], uint64(len(h)))
	bw.Write(lenb[:])
	bw.Write(h)
	var buf [4]byte
	for _, t := range tensors {
		for _, v := range t.Data {
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
			bw.Write(buf[:])
		}
	}
	return bw.Flush()
}

// SaveSafetensors writes a weights file atomically (package atomicfile): a
// crash never leaves half a file.
func SaveSafetensors(path string, tensors []NamedTensor, meta map[string]string) error {
	if err := atomicfile.Write(path, func(w io.Writer) error { return WriteSafetensors(w, tensors, meta) }); err != nil {
		return fmt.Errorf("save weights: %w", err)
	}
	return nil
}

// LoadSafetensors reads a weights file; errors name the file.
func LoadSafetensors(path string) (*Safetensors, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load weights: %w", err)
	}
	s, err := DecodeSafetensors(b)
	if err != nil {
		return nil, fmt.Errorf("load weights %s: %w", path, err)
	}
	return s, nil
}

var dtypeSize = map[string]int{"F32": 4, "F64": 8, "F16": 2, "BF16": 2}

// DecodeSafetensors parses the bytes of a weights file, checking the header
// length against the file and MaxSafetensorsHeader, every dtype, shape and
// offset, and that the tensors tile the data exactly (no gaps, no overlaps),
// as the reference implementation requires.
func DecodeSafetensors(b []byte) (*Safetensors, error) {
	if len(b) < 8 {
		return nil, errors.New("safetensors: file shorter than its 8-byte header length")
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if n > MaxSafetensorsHeader {
		return nil, fmt.Errorf("safetensors: header length %d exceeds the %d-byte cap", n, MaxSafetensorsHeader)
	}
	if n > uint64(len(b)-8) {
		return nil, fmt.Errorf("safetensors: header length %d but only %d bytes follow", n, len(b)-8)
	}
	hb := b[8 : 8+n]
	data := b[8+n:]
	if len(bytes.TrimSpace(hb)) == 0 || bytes.TrimSpace(hb)[0] != '{' {
		return nil, errors.New("safetensors: header is not a JSON object")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hb, &raw); err != nil {
		return nil, fmt.Errorf("safetensors: header JSON: %w", err)
	}
	s := &Safetensors{Metadata: map[string]string{}}
	if m, ok := raw["__metadata__"]; ok {
		if err := json.Unmarshal(m, &s.Metadata); err != nil {
			return nil, fmt.Errorf("safetensors: __metadata__ must map strings to strings: %w", err)
		}
		delete(raw, "__metadata__")
	}
	type item struct {
		name string
		e    stEntry
	}
	items := make([]item, 0, len(raw))
	for name, r := range raw {
		var e stEntry
		if err := json.Unmarshal(r, &e); err != nil {
			return nil, fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		size, ok := dtypeSize[e.DType]
		if !ok {
			return nil, fmt.Errorf("safetensors: tensor %q has dtype %q; supported: F32, F64, F16, BF16", name, e.DType)
		}
		if len(e.DataOffsets) != 2 || e.DataOffsets[0] > e.DataOffsets[1] || e.DataOffsets[1] > uint64(len(data)) {
			return nil, fmt.Errorf("safetensors: tensor %q has data offsets %v outside the %d data bytes", name, e.DataOffsets, len(data))
		}
		count := uint64(1)
		for _, d := range e.Shape {
			if d < 0 {
				return nil, fmt.Errorf("safetensors: tensor %q has negative dimension in shape %v", name, e.Shape)
			}
			if d != 0 && count > uint64(len(data))/uint64(d) {
				return nil, fmt.Errorf("safetensors: tensor %q shape %v is larger than the file", name, e.Shape)
			}
			count *= uint64(d)
		}
		if count*uint64(size) != e.DataOffsets[1]-e.DataOffsets[0] {
			return nil, fmt.Errorf("safetensors: tensor %q: shape %v of %s needs %d bytes, offsets give %d",
				name, e.Shape, e.DType, count*uint64(size), e.DataOffsets[1]-e.DataOffsets[0])
		}
		items = append(items, item{name, e})
	}
	sort.Slice(items, func(i, j int) bool {
		if items[i].e.DataOffsets[0] != items[j].e.DataOffsets[0] {
			return items[i].e.DataOffsets[0] < items[j].e.DataOffsets[0]
		}
		return items[i].name < items[j].name
	})
	var pos uint64
	for _, it := range items {
		if it.e.DataOffsets[0] != pos {
			return nil, fmt.Errorf("safetensors: tensor %q starts at byte %d, expected %d (gap or overlap)", it.name, it.e.DataOffsets[0], pos)
		}
		pos = it.e.DataOffsets[1]
	}
	if pos != uint64(len(data)) {
		return nil, fmt.Errorf("safetensors: tensors cover %d of the %d data bytes", pos, len(data))
	}
	for _, it := range items {
		src := data[it.e.DataOffsets[0]:it.e.DataOffsets[1]]
		out := make([]float32, len(src)/dtypeSize[it.e.DType])
		le := binary.LittleEndian
		switch it.e.DType {
		case "F32":
			for i := range out {
				out[i] = math.Float32frombits(le.Uint32(src[4*i:]))
			}
		case "F64":
			for i := range out {
				out[i] = float32(math.Float64frombits(le.Uint64(src[8*i:])))
			}
		case "BF16":
			for i := range out {
				out[i] = math.Float32frombits(uint32(le.Uint16(src[2*i:])) << 16)
			}
		case "F16":
			for i := range out {
				out[i] = halfToFloat(le.Uint16(src[2*i:]))
			}
		}
		s.Tensors = append(s.Tensors, NamedTensor{Name: it.name, Shape: slices.Clone(it.e.Shape), Data: out})
	}
	return s, nil
}

// halfToFloat converts an IEEE 754 binary16 value.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := int(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0:
		// zero or subnormal: mant * 2^-24
		f := float32(mant) * float32(1.0/(1<<24))
		if sign != 0 {
			f = -f
		}
		return f
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | uint32(exp-15+127)<<23 | mant<<13)
}
