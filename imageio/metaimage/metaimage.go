// Package metaimage reads and writes ITK MetaImage files: .mha (header and
// voxels in one file, ElementDataFile = LOCAL) and .mhd (header next to a
// .raw or .zraw data file), with zlib CompressedData, TransformMatrix,
// Offset and ElementSpacing. MetaImage geometry is already LPS, otoseg's
// convention.
package metaimage

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zlib"

	"github.com/otoseg/otoseg/imageio/internal/voxio"
	"github.com/otoseg/otoseg/volume"
)

// MaxHeaderBytes caps the text header.
const MaxHeaderBytes = 1 << 20

var elementTypes = map[string]voxio.Kind{
	"MET_UCHAR": voxio.U8, "MET_CHAR": voxio.I8, "MET_SHORT": voxio.I16, "MET_USHORT": voxio.U16,
	"MET_INT": voxio.I32, "MET_UINT": voxio.U32, "MET_LONG": voxio.I32, "MET_ULONG": voxio.U32,
	"MET_LONG_LONG": voxio.I64, "MET_ULONG_LONG": voxio.U64, "MET_FLOAT": voxio.F32, "MET_DOUBLE": voxio.F64,
}

var elementTypeName = map[voxio.Kind]string{
	voxio.U8: "MET_UCHAR", voxio.I8: "MET_CHAR", voxio.I16: "MET_SHORT", voxio.U16: "MET_USHORT",
	voxio.I32: "MET_INT", voxio.U32: "MET_UINT", voxio.I64: "MET_LONG_LONG", voxio.U64: "MET_ULONG_LONG",
	voxio.F32: "MET_FLOAT", voxio.F64: "MET_DOUBLE",
}

// Options choose what Read returns from a 4-D file (NDims = 4).
type Options struct {
	// PickVolume selects Volume (0-based, along the 4th dimension); without
	// it a 4-D file is an error.
	PickVolume bool
	Volume     int
}

// Header is a parsed MetaImage header; Fields keeps every key as written.
type Header struct {
	Fields     map[string]string
	NDims      int
	DimSize    []int64
	Spacing    []float64
	Offset     []float64
	Transform  []float64 // NDims*NDims, axis direction vectors one after another
	Kind       voxio.Kind
	Order      binary.ByteOrder
	Compressed bool
	// CompressedSize is CompressedDataSize, 0 if absent.
	CompressedSize int64
	HeaderSize     int64 // -1: data are the file's last bytes
	DataFile       string
}

// get looks a key up ignoring case, as MetaIO writers differ in spelling.
func (h *Header) get(keys ...string) (string, bool) {
	for _, k := range keys {
		for fk, v := range h.Fields {
			if strings.EqualFold(fk, k) {
				return v, true
			}
		}
	}
	return "", false
}

func parseBool(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	return s == "true" || s == "1" || s == "yes"
}

func parseFloats(s string, n int, what string) ([]float64, error) {
	f := strings.Fields(s)
	if len(f) < n {
		return nil, fmt.Errorf("%s %q has %d values, want %d", what, s, len(f), n)
	}
	out := make([]float64, n)
	for i := range n {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%s value %q is not a finite number", what, f[i])
		}
		out[i] = v
	}
	return out, nil
}

// parseHeader reads "Key = Value" lines up to and including ElementDataFile.
func parseHeader(br *bufio.Reader) (*Header, error) {
	h := &Header{Fields: map[string]string{}, Order: binary.LittleEndian}
	budget := MaxHeaderBytes
	for {
		line, err := br.ReadSlice('\n')
		budget -= len(line)
		if budget < 0 || err == bufio.ErrBufferFull {
			return nil, fmt.Errorf("header longer than %d bytes or line too long", MaxHeaderBytes)
		}
		if err != nil && (err != io.EOF || len(line) == 0) {
			if err == io.EOF {
				return nil, errors.New("header ended before ElementDataFile")
			}
			return nil, err
		}
		s := strings.TrimSpace(string(line))
		if s != "" {
			k, v, ok := strings.Cut(s, "=")
			if !ok {
				return nil, fmt.Errorf("header line %.40q is not Key = Value", s)
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			h.Fields[k] = v
			if strings.EqualFold(k, "ElementDataFile") {
				break
			}
		}
		if err == io.EOF {
			return nil, errors.New("header ended before ElementDataFile")
		}
	}
	return h, h.interpret()
}

func (h *Header) interpret() error {
	if t, ok := h.get("ObjectType"); ok && !strings.EqualFold(t, "Image") {
		return fmt.Errorf("ObjectType %q, want Image", t)
	}
	nd, ok := h.get("NDims")
	if !ok {
		return errors.New("missing NDims")
	}
	n, err := strconv.Atoi(nd)
	if err != nil || n < 2 || n > 4 {
		return fmt.Errorf("NDims %q, want 2, 3 or 4", nd)
	}
	h.NDims = n
	ds, ok := h.get("DimSize")
	if !ok {
		return errors.New("missing DimSize")
	}
	f := strings.Fields(ds)
	if len(f) != n {
		return fmt.Errorf("DimSize %q has %d values for NDims %d", ds, len(f), n)
	}
	for _, x := range f {
		v, err := strconv.ParseInt(x, 10, 64)
		if err != nil || v <= 0 {
			return fmt.Errorf("DimSize value %q, want a positive integer", x)
		}
		h.DimSize = append(h.DimSize, v)
	}
	et, ok := h.get("ElementType")
	if !ok {
		return errors.New("missing ElementType")
	}
	if h.Kind, ok = elementTypes[strings.ToUpper(et)]; !ok {
		return fmt.Errorf("unsupported ElementType %q", et)
	}
	if c, ok := h.get("ElementNumberOfChannels"); ok && strings.TrimSpace(c) != "1" {
		return fmt.Errorf("ElementNumberOfChannels %q: only scalar images are supported", c)
	}
	if b, ok := h.get("BinaryData"); ok && !parseBool(b) {
		return errors.New("BinaryData = False (ASCII voxels) is not supported")
	}
	if b, ok := h.get("BinaryDataByteOrderMSB", "ElementByteOrderMSB"); ok && parseBool(b) {
		h.Order = binary.BigEndian
	}
	if c, ok := h.get("CompressedData"); ok {
		h.Compressed = parseBool(c)
	}
	if c, ok := h.get("CompressedDataSize"); ok {
		if h.CompressedSize, err = strconv.ParseInt(c, 10, 64); err != nil || h.CompressedSize < 0 {
			return fmt.Errorf("CompressedDataSize %q, want a non-negative integer", c)
		}
	}
	if s, ok := h.get("HeaderSize"); ok {
		if h.HeaderSize, err = strconv.ParseInt(s, 10, 64); err != nil || h.HeaderSize < -1 {
			return fmt.Errorf("HeaderSize %q, want an integer >= -1", s)
		}
	}
	h.Spacing = []float64{1, 1, 1, 1}[:n]
	if s, ok := h.get("ElementSpacing", "ElementSize"); ok {
		if h.Spacing, err = parseFloats(s, n, "ElementSpacing"); err != nil {
			return err
		}
	}
	h.Offset = make([]float64, n)
	if s, ok := h.get("Offset", "Origin", "Position"); ok {
		if h.Offset, err = parseFloats(s, n, "Offset"); err != nil {
			return err
		}
	}
	h.Transform = make([]float64, n*n)
	for i := range n {
		h.Transform[i*n+i] = 1
	}
	if s, ok := h.get("TransformMatrix", "Rotation", "Orientation"); ok {
		if h.Transform, err = parseFloats(s, n*n, "TransformMatrix"); err != nil {
			return err
		}
	}
	h.DataFile, _ = h.get("ElementDataFile")
	if h.DataFile == "" {
		return errors.New("empty ElementDataFile")
	}
	if strings.HasPrefix(strings.ToUpper(h.DataFile), "LIST") || strings.Contains(h.DataFile, "%") {
		return fmt.Errorf("ElementDataFile %q: multi-file data is not supported", h.DataFile)
	}
	return nil
}

// Geometry is the 3-D geometry the header describes (the first three axes).
func (h *Header) Geometry() (volume.Geometry, error) {
	n := h.NDims
	var dims [3]int64
	for i := range 3 {
		dims[i] = 1
		if i < n {
			dims[i] = h.DimSize[i]
		}
	}
	if _, err := voxio.VoxelCount(dims[:]...); err != nil {
		return volume.Geometry{}, err
	}
	var aff [4][4]float64
	for c := range 3 {
		sp := 1.0
		if c < n {
			sp = h.Spacing[c]
			if !(sp > 0) {
				return volume.Geometry{}, fmt.Errorf("ElementSpacing %d is %g, want > 0", c, sp)
			}
		}
		for r := range 3 {
			d := 0.0
			switch {
			case c < n && r < n:
				d = h.Transform[c*n+r]
			case c == r:
				d = 1
			}
			aff[r][c] = d * sp
		}
		if c < n {
			aff[c][3] = h.Offset[c]
		}
	}
	aff[3][3] = 1
	g, err := volume.GeometryFromAffineLPS([3]int{int(dims[0]), int(dims[1]), int(dims[2])}, aff)
	if err == nil {
		err = g.Validate()
	}
	if err != nil {
		return g, fmt.Errorf("TransformMatrix/ElementSpacing: %w", err)
	}
	return g, nil
}

// Read reads a .mha or .mhd image. Errors name the file.
func Read(path string, opt Options) (*volume.Volume, error) {
	v, err := read(path, opt)
	if err != nil {
		return nil, fmt.Errorf("metaimage %s: %w", path, err)
	}
	return v, nil
}

// ReadHeader reads and checks the header of a .mha or .mhd file without
// its voxels: what a caller needs to size a read before making it.
func ReadHeader(path string) (*Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("metaimage %s: %w", path, err)
	}
	defer f.Close()
	h, err := parseHeader(bufio.NewReaderSize(f, 1<<16))
	if err != nil {
		return nil, fmt.Errorf("metaimage %s: %w", path, err)
	}
	return h, nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func read(path string, opt Options) (*volume.Volume, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cr := &countReader{r: f}
	br := bufio.NewReaderSize(cr, 1<<16)
	h, err := parseHeader(br)
	if err != nil {
		return nil, err
	}
	g, err := h.Geometry()
	if err != nil {
		return nil, err
	}
	nvol := int64(1)
	if h.NDims == 4 {
		nvol = h.DimSize[3]
		if nvol > 1<<20 {
			return nil, fmt.Errorf("4th dimension %d is longer than %d", nvol, 1<<20)
		}
	}
	pick, err := voxio.PickVolume(nvol, opt.PickVolume, opt.Volume)
	if err != nil {
		return nil, err
	}
	// Locate the data stream and how many bytes it has.
	var (
		data     io.Reader
		dataFile *os.File
		avail    int64
	)
	if strings.EqualFold(h.DataFile, "LOCAL") {
		st, err := f.Stat()
		if err != nil {
			return nil, err
		}
		data, dataFile, avail = br, f, st.Size()-(cr.n-int64(br.Buffered()))
	} else {
		name := h.DataFile
		if !filepath.IsAbs(name) {
			name = filepath.Join(filepath.Dir(path), name)
		}
		df, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("data file: %w", err)
		}
		defer df.Close()
		st, err := df.Stat()
		if err != nil {
			return nil, fmt.Errorf("data file: %w", err)
		}
		data, dataFile, avail = bufio.NewReaderSize(df, 1<<16), df, st.Size()
		if h.HeaderSize > 0 {
			if err := voxio.Skip(data, h.HeaderSize); err != nil {
				return nil, fmt.Errorf("HeaderSize: %w", err)
			}
			avail -= h.HeaderSize
		}
	}
	n := int64(g.Len())
	elem := int64(h.Kind.Size())
	need := (pick + 1) * n * elem
	if h.HeaderSize == -1 && !h.Compressed {
		// The voxels are the last bytes of the data file.
		total := nvol * n * elem
		st, err := dataFile.Stat()
		if err != nil {
			return nil, err
		}
		if st.Size() < total {
			return nil, fmt.Errorf("%w: data file has %d bytes, header needs %d", voxio.ErrTruncated, st.Size(), total)
		}
		if _, err := dataFile.Seek(st.Size()-total, io.SeekStart); err != nil {
			return nil, err
		}
		data, avail = bufio.NewReaderSize(dataFile, 1<<16), total
	}
	if err := voxio.CheckAvailable(need, avail, h.Compressed); err != nil {
		return nil, err
	}
	if h.Compressed {
		zr, err := voxio.Inflate(data)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		data = bufio.NewReaderSize(zr, 1<<16)
	}
	if err := voxio.Skip(data, pick*n*elem); err != nil {
		return nil, err
	}
	v := volume.New(g, h.Kind.DType())
	if err := voxio.ReadInto(data, v.Data, h.Kind, h.Order); err != nil {
		return nil, err
	}
	return v, nil
}

// WriteOptions tune Write.
type WriteOptions struct {
	// Compress writes zlib CompressedData (.zraw for .mhd). The compressed
	// bytes are held in memory until their size, which the header states
	// first, is known.
	Compress bool
}

// Write writes v as .mha (one file) or .mhd (+ .raw), uncompressed, as
// SimpleITK does by default.
func Write(path string, v *volume.Volume) error { return WriteWith(path, v, WriteOptions{}) }

// WriteWith is Write with options.
func WriteWith(path string, v *volume.Volume, opt WriteOptions) error {
	if err := writeWith(path, v, opt); err != nil {
		return fmt.Errorf("metaimage %s: %w", path, err)
	}
	return nil
}

func writeWith(path string, v *volume.Volume, opt WriteOptions) error {
	if err := v.Check(); err != nil {
		return err
	}
	k := voxio.FromDType(v.DType)
	var payload []byte
	if opt.Compress {
		var buf bytes.Buffer
		zw, _ := zlib.NewWriterLevel(&buf, zlib.BestSpeed)
		if err := voxio.WriteFrom(zw, v.Data, k, binary.LittleEndian); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
		payload = buf.Bytes()
	}
	detached := strings.HasSuffix(strings.ToLower(path), ".mhd")
	dataFile := "LOCAL"
	var dataPath string
	if detached {
		ext := ".raw"
		if opt.Compress {
			ext = ".zraw"
		}
		dataPath = strings.TrimSuffix(path, filepath.Ext(path)) + ext
		dataFile = filepath.Base(dataPath)
	}
	var hdr bytes.Buffer
	g := func(x float64) string { return strconv.FormatFloat(x+0, 'g', -1, 64) } // +0: no "-0"
	fmt.Fprintf(&hdr, "ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n")
	fmt.Fprintf(&hdr, "CompressedData = %s\n", map[bool]string{true: "True", false: "False"}[opt.Compress])
	if opt.Compress {
		fmt.Fprintf(&hdr, "CompressedDataSize = %d\n", len(payload))
	}
	hdr.WriteString("TransformMatrix =")
	for c := range 3 {
		for r := range 3 {
			hdr.WriteString(" " + g(v.Direction[r][c]))
		}
	}
	fmt.Fprintf(&hdr, "\nOffset = %s %s %s\n", g(v.Origin[0]), g(v.Origin[1]), g(v.Origin[2]))
	hdr.WriteString("CenterOfRotation = 0 0 0\n")
	fmt.Fprintf(&hdr, "ElementSpacing = %s %s %s\n", g(v.Spacing[0]), g(v.Spacing[1]), g(v.Spacing[2]))
	fmt.Fprintf(&hdr, "DimSize = %d %d %d\n", v.Dims[0], v.Dims[1], v.Dims[2])
	fmt.Fprintf(&hdr, "ElementType = %s\nElementDataFile = %s\n", elementTypeName[k], dataFile)
	writeData := func(w io.Writer) error {
		if opt.Compress {
			_, err := w.Write(payload)
			return err
		}
		return voxio.WriteFrom(w, v.Data, k, binary.LittleEndian)
	}
	return voxio.WriteHeaderAndData(path, dataPath, hdr.Bytes(), writeData)
}
