// Package nrrd reads and writes NRRD images (.nrrd with attached data, .nhdr
// with a detached data file), raw, gzip, bzip2 (read) and ascii encodings,
// with the anatomical spaces (left-posterior-superior, right-anterior-
// superior, left-anterior-superior) converted to and from otoseg's LPS, and
// writes 3D Slicer segmentation files (.seg.nrrd).
//
// Format reference: http://teem.sourceforge.net/nrrd/format.html.
package nrrd

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/otoseg/otoseg/imageio/internal/voxio"
)

// MaxHeaderBytes caps the text header; real ones are a few kB, so a file
// with more before its blank line is corrupt or hostile.
const MaxHeaderBytes = 1 << 20

// maxDimension caps the number of axes a header may declare.
const maxDimension = 16

// Header is a parsed NRRD header. Field names are lowercased; key/value
// pairs (key:=value) keep their case.
type Header struct {
	Version   int
	Kind      voxio.Kind
	TypeName  string
	Dimension int
	Sizes     []int64
	Order     binary.ByteOrder
	Encoding  string // raw, gzip, bzip2, ascii (normalised)
	Space     string // normalised lower-case long name, "" if none
	SpaceDim  int
	// SpaceDirections has one entry per axis, nil for "none".
	SpaceDirections [][]float64
	SpaceOrigin     []float64
	Spacings        []float64
	Kinds           []string
	LineSkip        int64
	ByteSkip        int64
	DataFile        string
	Fields          map[string]string
	KeyValues       map[string]string
	// KeyOrder lists KeyValues' keys in file order.
	KeyOrder []string
}

var typeNames = map[string]voxio.Kind{
	"signed char": voxio.I8, "int8": voxio.I8, "int8_t": voxio.I8,
	"uchar": voxio.U8, "unsigned char": voxio.U8, "uint8": voxio.U8, "uint8_t": voxio.U8,
	"short": voxio.I16, "short int": voxio.I16, "signed short": voxio.I16, "signed short int": voxio.I16, "int16": voxio.I16, "int16_t": voxio.I16,
	"ushort": voxio.U16, "unsigned short": voxio.U16, "unsigned short int": voxio.U16, "uint16": voxio.U16, "uint16_t": voxio.U16,
	"int": voxio.I32, "signed int": voxio.I32, "int32": voxio.I32, "int32_t": voxio.I32,
	"uint": voxio.U32, "unsigned int": voxio.U32, "uint32": voxio.U32, "uint32_t": voxio.U32,
	"longlong": voxio.I64, "long long": voxio.I64, "long long int": voxio.I64, "signed long long": voxio.I64, "signed long long int": voxio.I64, "int64": voxio.I64, "int64_t": voxio.I64,
	"ulonglong": voxio.U64, "unsigned long long": voxio.U64, "unsigned long long int": voxio.U64, "uint64": voxio.U64, "uint64_t": voxio.U64,
	"float": voxio.F32, "double": voxio.F64,
}

// writeTypeName is the canonical NRRD name of each kind.
var writeTypeName = map[voxio.Kind]string{
	voxio.I8: "int8", voxio.U8: "uint8", voxio.I16: "int16", voxio.U16: "uint16",
	voxio.I32: "int32", voxio.U32: "uint32", voxio.I64: "int64", voxio.U64: "uint64",
	voxio.F32: "float", voxio.F64: "double",
}

// spaces maps every NRRD space name otoseg accepts to its long name and the
// signs that take its coordinates to LPS. Spaces without anatomical meaning
// (scanner-xyz, 3D-right-handed, 3D-left-handed) are taken as LPS, as ITK
// does.
var spaces = map[string]struct {
	name  string
	signs [3]float64
}{
	"left-posterior-superior": {"left-posterior-superior", [3]float64{1, 1, 1}},
	"lps":                     {"left-posterior-superior", [3]float64{1, 1, 1}},
	"right-anterior-superior": {"right-anterior-superior", [3]float64{-1, -1, 1}},
	"ras":                     {"right-anterior-superior", [3]float64{-1, -1, 1}},
	"left-anterior-superior":  {"left-anterior-superior", [3]float64{1, -1, 1}},
	"las":                     {"left-anterior-superior", [3]float64{1, -1, 1}},
	"scanner-xyz":             {"scanner-xyz", [3]float64{1, 1, 1}},
	"3d-right-handed":         {"3d-right-handed", [3]float64{1, 1, 1}},
	"3d-left-handed":          {"3d-left-handed", [3]float64{1, 1, 1}},
}

// readLine reads one line (without its end) charging its length to budget.
func readLine(br *bufio.Reader, budget *int) (string, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		*budget -= len(frag)
		if *budget < 0 {
			return "", fmt.Errorf("header is longer than %d bytes", MaxHeaderBytes)
		}
		line = append(line, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(line) > 0 {
				return strings.TrimRight(string(line), "\r\n"), io.EOF
			}
			return "", err
		}
		return strings.TrimRight(string(line), "\r\n"), nil
	}
}

// parseHeader reads the header from br up to and including the blank line
// that ends it (or EOF, for a detached header).
func parseHeader(br *bufio.Reader) (*Header, error) {
	budget := MaxHeaderBytes
	magic, err := readLine(br, &budget)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("reading magic: %w", err)
	}
	if !strings.HasPrefix(magic, "NRRD000") || len(magic) != 8 || magic[7] < '1' || magic[7] > '5' {
		return nil, fmt.Errorf("not a NRRD file: first line %.20q, want NRRD0001..NRRD0005", magic)
	}
	h := &Header{Version: int(magic[7] - '0'), Fields: map[string]string{}, KeyValues: map[string]string{}, Order: binary.LittleEndian}
	for {
		line, err := readLine(br, &budget)
		if err != nil && err != io.EOF {
			return nil, err
		}
		if line == "" {
			break
		}
		if !strings.HasPrefix(line, "#") {
			if k, v, ok := strings.Cut(line, ":="); ok && !strings.Contains(k, ": ") {
				if _, dup := h.KeyValues[k]; !dup {
					h.KeyOrder = append(h.KeyOrder, k)
				}
				h.KeyValues[k] = unescape(v)
			} else if k, v, ok := strings.Cut(line, ": "); ok {
				h.Fields[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
			} else if k, ok := strings.CutSuffix(line, ":"); ok {
				h.Fields[strings.ToLower(strings.TrimSpace(k))] = ""
			} else {
				return nil, fmt.Errorf("header line %.40q is neither a field nor a key/value", line)
			}
		}
		if err == io.EOF {
			break
		}
	}
	return h, h.interpret()
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	return strings.NewReplacer(`\n`, "\n", `\\`, `\`).Replace(s)
}

func escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

// field returns a field by any of its names.
func (h *Header) field(names ...string) (string, bool) {
	for _, n := range names {
		if v, ok := h.Fields[n]; ok {
			return v, true
		}
	}
	return "", false
}

func (h *Header) interpret() error {
	t, ok := h.field("type")
	if !ok {
		return errors.New(`missing required field "type"`)
	}
	h.TypeName = t
	if h.Kind, ok = typeNames[strings.ToLower(t)]; !ok {
		return fmt.Errorf("unsupported type %q", t)
	}
	d, ok := h.field("dimension")
	if !ok {
		return errors.New(`missing required field "dimension"`)
	}
	n, err := strconv.Atoi(d)
	if err != nil || n < 1 || n > maxDimension {
		return fmt.Errorf("dimension %q, want 1..%d", d, maxDimension)
	}
	h.Dimension = n
	s, ok := h.field("sizes")
	if !ok {
		return errors.New(`missing required field "sizes"`)
	}
	sz := strings.Fields(s)
	if len(sz) != n {
		return fmt.Errorf("sizes %q has %d entries for dimension %d", s, len(sz), n)
	}
	for _, f := range sz {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil || v <= 0 {
			return fmt.Errorf("size %q, want a positive integer", f)
		}
		h.Sizes = append(h.Sizes, v)
	}
	enc, ok := h.field("encoding")
	if !ok {
		return errors.New(`missing required field "encoding"`)
	}
	switch strings.ToLower(enc) {
	case "raw":
		h.Encoding = "raw"
	case "gzip", "gz":
		h.Encoding = "gzip"
	case "bzip2", "bz2":
		h.Encoding = "bzip2"
	case "ascii", "text", "txt":
		h.Encoding = "ascii"
	default:
		return fmt.Errorf("unsupported encoding %q (raw, gzip, bzip2, ascii are)", enc)
	}
	if e, ok := h.field("endian"); ok {
		switch strings.ToLower(e) {
		case "little":
			h.Order = binary.LittleEndian
		case "big":
			h.Order = binary.BigEndian
		default:
			return fmt.Errorf("endian %q, want little or big", e)
		}
	} else if h.Kind.Size() > 1 && h.Encoding != "ascii" {
		return errors.New(`missing field "endian", required for multi-byte types`)
	}
	if sp, ok := h.field("space"); ok {
		s, ok := spaces[strings.ToLower(sp)]
		if !ok {
			return fmt.Errorf("unsupported space %q", sp)
		}
		h.Space, h.SpaceDim = s.name, 3
	} else if sd, ok := h.field("space dimension"); ok {
		v, err := strconv.Atoi(sd)
		if err != nil || v < 2 || v > 3 {
			return fmt.Errorf("space dimension %q, want 2 or 3", sd)
		}
		h.SpaceDim = v
	}
	if sd, ok := h.field("space directions"); ok {
		if h.SpaceDim == 0 {
			return errors.New(`"space directions" without "space" or "space dimension"`)
		}
		vecs, err := parseVectors(sd, h.SpaceDim, true)
		if err != nil {
			return fmt.Errorf("space directions: %w", err)
		}
		if len(vecs) != n {
			return fmt.Errorf("space directions has %d entries for dimension %d", len(vecs), n)
		}
		h.SpaceDirections = vecs
	}
	if so, ok := h.field("space origin"); ok {
		if h.SpaceDim == 0 {
			return errors.New(`"space origin" without "space" or "space dimension"`)
		}
		vecs, err := parseVectors(so, h.SpaceDim, false)
		if err != nil || len(vecs) != 1 {
			return fmt.Errorf("space origin %q: want one vector of %d numbers", so, h.SpaceDim)
		}
		h.SpaceOrigin = vecs[0]
	}
	if sp, ok := h.field("spacings"); ok {
		f := strings.Fields(sp)
		if len(f) != n {
			return fmt.Errorf("spacings %q has %d entries for dimension %d", sp, len(f), n)
		}
		for _, x := range f {
			v, err := strconv.ParseFloat(x, 64)
			if err != nil {
				return fmt.Errorf("spacing %q: not a number", x)
			}
			h.Spacings = append(h.Spacings, v)
		}
	}
	if k, ok := h.field("kinds"); ok {
		h.Kinds = strings.Fields(k)
		if len(h.Kinds) != n {
			return fmt.Errorf("kinds %q has %d entries for dimension %d", k, len(h.Kinds), n)
		}
	}
	for _, f := range []struct {
		names []string
		dst   *int64
		min   int64
	}{{[]string{"line skip", "lineskip"}, &h.LineSkip, 0}, {[]string{"byte skip", "byteskip"}, &h.ByteSkip, -1}} {
		if s, ok := h.field(f.names...); ok {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil || v < f.min {
				return fmt.Errorf("%s %q, want an integer >= %d", f.names[0], s, f.min)
			}
			*f.dst = v
		}
	}
	if h.ByteSkip == -1 && h.Encoding != "raw" {
		return errors.New(`"byte skip: -1" is only valid with raw encoding`)
	}
	if df, ok := h.field("data file", "datafile"); ok {
		if strings.HasPrefix(df, "LIST") || len(strings.Fields(df)) > 1 {
			return fmt.Errorf("data file %q: multi-file data is not supported", df)
		}
		h.DataFile = df
	}
	return nil
}

// parseVectors parses "(a,b,c) (d,e,f) none ..." into vectors of n numbers;
// "none" gives nil where allowNone.
func parseVectors(s string, n int, allowNone bool) ([][]float64, error) {
	var out [][]float64
	rest := strings.TrimSpace(s)
	for rest != "" {
		if strings.HasPrefix(rest, "none") {
			if !allowNone {
				return nil, errors.New(`"none" not allowed here`)
			}
			out = append(out, nil)
			rest = strings.TrimSpace(rest[4:])
			continue
		}
		if rest[0] != '(' {
			return nil, fmt.Errorf("expected '(' at %.20q", rest)
		}
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return nil, fmt.Errorf("missing ')' in %.40q", rest)
		}
		parts := strings.Split(rest[1:end], ",")
		if len(parts) != n {
			return nil, fmt.Errorf("vector %q has %d components, want %d", rest[:end+1], len(parts), n)
		}
		vec := make([]float64, n)
		for i, p := range parts {
			v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
				return nil, fmt.Errorf("vector component %q is not a finite number", p)
			}
			vec[i] = v
		}
		out = append(out, vec)
		rest = strings.TrimSpace(rest[end+1:])
	}
	return out, nil
}

func formatVector(v []float64) string {
	var b bytes.Buffer
	b.WriteByte('(')
	for i, x := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatFloat(x+0, 'g', -1, 64)) // +0: no "-0"
	}
	b.WriteByte(')')
	return b.String()
}
