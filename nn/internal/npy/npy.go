// Package npy reads and writes NumPy .npy files (format versions 1.0-3.0,
// little-endian, C order). The engine's tests use it for fixtures that a
// committed Python script produces with PyTorch, so the Go layers can be
// compared with PyTorch number by number.
//
// Every dtype is returned as float64, which holds float32, float64, the
// integer types up to 2^53 and bool exactly; F32 narrows to float32.
package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// MaxHeader caps the header length a file may declare. NumPy writes headers
// of a few hundred bytes; anything bigger is a damaged or hostile file.
const MaxHeader = 1 << 16

// MaxElements caps the number of elements read from one file (1 Gi).
const MaxElements = 1 << 30

var magic = []byte("\x93NUMPY")

// Array is a decoded .npy array.
type Array struct {
	Shape []int
	// DType is the NumPy descr, e.g. "<f4", "<i8", "|u1".
	DType string
	Data  []float64
}

// F32 returns the data as float32.
func (a *Array) F32() []float32 {
	out := make([]float32, len(a.Data))
	for i, v := range a.Data {
		out[i] = float32(v)
	}
	return out
}

// Len is the number of elements the shape describes.
func (a *Array) Len() int {
	n := 1
	for _, s := range a.Shape {
		n *= s
	}
	return n
}

// ReadFile reads a .npy file; errors name the file.
func ReadFile(path string) (*Array, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	a, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

var (
	reDescr   = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	reFortran = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	reShape   = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

// Decode parses the bytes of a .npy file.
func Decode(b []byte) (*Array, error) {
	if len(b) < 10 || !bytes.Equal(b[:6], magic) {
		return nil, errors.New("npy: not a .npy file (bad magic)")
	}
	major := b[6]
	var hlen, off int
	switch major {
	case 1:
		hlen, off = int(binary.LittleEndian.Uint16(b[8:10])), 10
	case 2, 3:
		if len(b) < 12 {
			return nil, errors.New("npy: truncated header")
		}
		h := binary.LittleEndian.Uint32(b[8:12])
		if h > MaxHeader {
			return nil, fmt.Errorf("npy: header length %d exceeds the %d-byte cap", h, MaxHeader)
		}
		hlen, off = int(h), 12
	default:
		return nil, fmt.Errorf("npy: unsupported format version %d", major)
	}
	if hlen > MaxHeader {
		return nil, fmt.Errorf("npy: header length %d exceeds the %d-byte cap", hlen, MaxHeader)
	}
	if off+hlen > len(b) {
		return nil, errors.New("npy: truncated header")
	}
	h := string(b[off : off+hlen])
	data := b[off+hlen:]

	m := reDescr.FindStringSubmatch(h)
	if m == nil {
		return nil, errors.New("npy: header has no descr")
	}
	descr := m[1]
	if f := reFortran.FindStringSubmatch(h); f == nil || f[1] != "False" {
		return nil, errors.New("npy: only C-order arrays are supported (fortran_order must be False)")
	}
	s := reShape.FindStringSubmatch(h)
	if s == nil {
		return nil, errors.New("npy: header has no shape")
	}
	shape := []int{}
	n := 1
	for _, f := range strings.Split(s[1], ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		d, err := strconv.Atoi(f)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("npy: bad shape entry %q", f)
		}
		if d != 0 && n > MaxElements/d {
			return nil, fmt.Errorf("npy: shape %s exceeds the %d-element cap", s[1], MaxElements)
		}
		n *= d
		shape = append(shape, d)
	}
	size, conv, err := decoder(descr)
	if err != nil {
		return nil, err
	}
	if len(data) < n*size {
		return nil, fmt.Errorf("npy: data holds %d bytes, shape %v of %s needs %d", len(data), shape, descr, n*size)
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = conv(data[i*size:])
	}
	return &Array{Shape: shape, DType: descr, Data: out}, nil
}

func decoder(descr string) (int, func([]byte) float64, error) {
	le := binary.LittleEndian
	switch descr {
	case "<f4":
		return 4, func(b []byte) float64 { return float64(math.Float32frombits(le.Uint32(b))) }, nil
	case "<f8":
		return 8, func(b []byte) float64 { return math.Float64frombits(le.Uint64(b)) }, nil
	case "<i8":
		return 8, func(b []byte) float64 { return float64(int64(le.Uint64(b))) }, nil
	case "<i4":
		return 4, func(b []byte) float64 { return float64(int32(le.Uint32(b))) }, nil
	case "<i2":
		return 2, func(b []byte) float64 { return float64(int16(le.Uint16(b))) }, nil
	case "|u1", "|b1":
		return 1, func(b []byte) float64 { return float64(b[0]) }, nil
	case "|i1":
		return 1, func(b []byte) float64 { return float64(int8(b[0])) }, nil
	}
	return 0, nil, fmt.Errorf("npy: unsupported dtype %q (want little-endian f4, f8, i1-i8, u1 or b1)", descr)
}

// WriteF32 writes data with the given shape as a version 1.0 '<f4' file,
// atomically (temporary file in the same directory, then rename).
func WriteF32(path string, shape []int, data []float32) error {
	n := 1
	for _, s := range shape {
		n *= s
	}
	if n != len(data) {
		return fmt.Errorf("npy: %s: shape %v holds %d elements, data has %d", path, shape, n, len(data))
	}
	var buf bytes.Buffer
	if err := EncodeF32(&buf, shape, data); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".npy-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("npy: %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("npy: %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

// EncodeF32 writes a version 1.0 '<f4' array to w.
func EncodeF32(w io.Writer, shape []int, data []float32) error {
	dims := make([]string, len(shape))
	for i, s := range shape {
		dims[i] = strconv.Itoa(s)
	}
	sh := strings.Join(dims, ", ")
	if len(shape) == 1 {
		sh += ","
	}
	h := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", sh)
	// Pad so the data starts on a 64-byte boundary, ending in a newline.
	total := 10 + len(h) + 1
	h += strings.Repeat(" ", (64-total%64)%64) + "\n"
	hdr := make([]byte, 10, 10+len(h))
	copy(hdr, magic)
	hdr[6], hdr[7] = 1, 0
	binary.LittleEndian.PutUint16(hdr[8:], uint16(len(h)))
	hdr = append(hdr, h...)
	body := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(body[4*i:], math.Float32bits(v))
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	_, err := w.Write(body)
	return err
}
