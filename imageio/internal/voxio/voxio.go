// Package voxio holds what the format packages share: on-disk voxel types,
// streaming conversion between their bytes and float32 voxels, opening a
// possibly gzip-compressed file, and the size checks that stop a lying header
// from making a reader allocate or decompress more than the file can hold.
package voxio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"

	"github.com/klauspost/compress/zlib"

	"github.com/klauspost/pgzip"

	"github.com/otoseg/otoseg/internal/atomicfile"
	"github.com/otoseg/otoseg/volume"
)

// Kind is a voxel type as stored on disk.
type Kind uint8

// The on-disk voxel types the readers understand.
const (
	Invalid Kind = iota
	U8
	I8
	I16
	U16
	I32
	U32
	I64
	U64
	F32
	F64
)

var kindNames = [...]string{"invalid", "uint8", "int8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Size is the number of bytes of one voxel.
func (k Kind) Size() int {
	switch k {
	case U8, I8:
		return 1
	case I16, U16:
		return 2
	case I32, U32, F32:
		return 4
	case I64, U64, F64:
		return 8
	}
	return 0
}

// IsInt reports an integer kind.
func (k Kind) IsInt() bool { return k != Invalid && k != F32 && k != F64 }

// DType is the volume datatype that keeps every value of k a writer can
// store again. Types volume does not name are widened: int8 to int16, and
// the 32- and 64-bit unsigned and 64-bit signed to float64.
func (k Kind) DType() volume.DType {
	switch k {
	case U8:
		return volume.Uint8
	case I8, I16:
		return volume.Int16
	case U16:
		return volume.Uint16
	case I32:
		return volume.Int32
	case F32:
		return volume.Float32
	}
	return volume.Float64
}

// FromDType is the on-disk kind a writer uses for d.
func FromDType(d volume.DType) Kind {
	switch d {
	case volume.Uint8:
		return U8
	case volume.Int16:
		return I16
	case volume.Uint16:
		return U16
	case volume.Int32:
		return I32
	case volume.Float64:
		return F64
	}
	return F32
}

// chunk is the number of bytes converted at a time: big enough for speed,
// small enough that conversion never doubles a volume's memory.
const chunk = 1 << 20

// ErrTruncated marks data that ended before the header's promise.
var ErrTruncated = errors.New("data is truncated")

// ReadInto fills dst with len(dst) voxels of kind k read from r.
func ReadInto(r io.Reader, dst []float32, k Kind, order binary.ByteOrder) error {
	size := k.Size()
	if size == 0 {
		return fmt.Errorf("unsupported voxel type %v", k)
	}
	buf := make([]byte, min(chunk, len(dst)*size))
	per := len(buf) / size
	for done := 0; done < len(dst); {
		n := min(per, len(dst)-done)
		got, err := io.ReadFull(r, buf[:n*size])
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("%w: got %d of %d voxel bytes", ErrTruncated, int64(done)*int64(size)+int64(got), int64(len(dst))*int64(size))
			}
			return err
		}
		Decode(dst[done:done+n], buf[:n*size], k, order)
		done += n
	}
	return nil
}

// Decode converts len(dst) voxels of kind k from src.
func Decode(dst []float32, src []byte, k Kind, order binary.ByteOrder) {
	if order == binary.LittleEndian && decodeLE(dst, src, k) {
		return
	}
	switch k {
	case U8:
		for i := range dst {
			dst[i] = float32(src[i])
		}
	case I8:
		for i := range dst {
			dst[i] = float32(int8(src[i]))
		}
	case I16:
		for i := range dst {
			dst[i] = float32(int16(order.Uint16(src[2*i:])))
		}
	case U16:
		for i := range dst {
			dst[i] = float32(order.Uint16(src[2*i:]))
		}
	case I32:
		for i := range dst {
			dst[i] = float32(int32(order.Uint32(src[4*i:])))
		}
	case U32:
		for i := range dst {
			dst[i] = float32(order.Uint32(src[4*i:]))
		}
	case I64:
		for i := range dst {
			dst[i] = float32(int64(order.Uint64(src[8*i:])))
		}
	case U64:
		for i := range dst {
			dst[i] = float32(order.Uint64(src[8*i:]))
		}
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(order.Uint32(src[4*i:]))
		}
	case F64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(order.Uint64(src[8*i:])))
		}
	}
}

// decodeLE is Decode for the kinds CT and label maps are stored in, in the
// little-endian order almost every file has: the byte order as a concrete
// type lets the compiler inline each load, where the interface costs a call
// per voxel (a head CT's 52 M int16 voxels decode several times faster).
// It reports false for the kinds it leaves to Decode.
func decodeLE(dst []float32, src []byte, k Kind) bool {
	le := binary.LittleEndian
	switch k {
	case I16:
		src = src[:2*len(dst)]
		for i := range dst {
			dst[i] = float32(int16(le.Uint16(src[2*i:])))
		}
	case U16:
		src = src[:2*len(dst)]
		for i := range dst {
			dst[i] = float32(le.Uint16(src[2*i:]))
		}
	case F32:
		src = src[:4*len(dst)]
		for i := range dst {
			dst[i] = math.Float32frombits(le.Uint32(src[4*i:]))
		}
	default:
		return false
	}
	return true
}

// WriteFrom writes src as voxels of kind k. Integer kinds round to nearest
// and saturate at the type's range; NaN becomes 0.
func WriteFrom(w io.Writer, src []float32, k Kind, order binary.ByteOrder) error {
	size := k.Size()
	if size == 0 {
		return fmt.Errorf("unsupported voxel type %v", k)
	}
	buf := make([]byte, min(chunk, max(len(src), 1)*size))
	per := len(buf) / size
	for done := 0; done < len(src); {
		n := min(per, len(src)-done)
		Encode(buf[:n*size], src[done:done+n], k, order)
		if _, err := w.Write(buf[:n*size]); err != nil {
			return err
		}
		done += n
	}
	return nil
}

func clampRound(x float32, lo, hi float64) float64 {
	f := float64(x)
	if f != f {
		return 0
	}
	f = math.RoundToEven(f)
	if f < lo {
		return lo
	}
	if f > hi {
		return hi
	}
	return f
}

// Encode converts src into len(src) voxels of kind k in dst.
func Encode(dst []byte, src []float32, k Kind, order binary.ByteOrder) {
	switch k {
	case U8:
		for i, x := range src {
			// Label maps hold exact small integers: those convert as
			// they are, without clampRound's float64 rounding (a head's
			// 52 M labels encode several times faster). An out-of-range
			// conversion gives some byte, which the comparison rejects.
			if b := uint8(x); float32(b) == x {
				dst[i] = b
				continue
			}
			dst[i] = uint8(clampRound(x, 0, math.MaxUint8))
		}
	case I8:
		for i, x := range src {
			dst[i] = uint8(int8(clampRound(x, math.MinInt8, math.MaxInt8)))
		}
	case I16:
		if order == binary.LittleEndian {
			// CT images: a concrete byte order inlines the store.
			for i, x := range src {
				binary.LittleEndian.PutUint16(dst[2*i:], uint16(int16(clampRound(x, math.MinInt16, math.MaxInt16))))
			}
			return
		}
		for i, x := range src {
			order.PutUint16(dst[2*i:], uint16(int16(clampRound(x, math.MinInt16, math.MaxInt16))))
		}
	case U16:
		for i, x := range src {
			order.PutUint16(dst[2*i:], uint16(clampRound(x, 0, math.MaxUint16)))
		}
	case I32:
		for i, x := range src {
			order.PutUint32(dst[4*i:], uint32(int32(clampRound(x, math.MinInt32, math.MaxInt32))))
		}
	case U32:
		for i, x := range src {
			order.PutUint32(dst[4*i:], uint32(clampRound(x, 0, math.MaxUint32)))
		}
	case I64:
		for i, x := range src {
			order.PutUint64(dst[8*i:], uint64(int64(clampRound(x, math.MinInt64, math.MaxInt64))))
		}
	case U64:
		for i, x := range src {
			order.PutUint64(dst[8*i:], uint64(clampRound(x, 0, math.MaxUint64)))
		}
	case F32:
		for i, x := range src {
			order.PutUint32(dst[4*i:], math.Float32bits(x))
		}
	case F64:
		for i, x := range src {
			order.PutUint64(dst[8*i:], math.Float64bits(float64(x)))
		}
	}
}

// MaxDeflateRatio bounds how many bytes deflate can expand one compressed
// byte into (the format's limit is about 1032:1). A header that asks for more
// voxel bytes than this times the compressed size is lying, and is refused
// before anything is allocated.
const MaxDeflateRatio = 1032

// Source is an opened data file, transparently gunzipped when it starts
// with the gzip magic.
type Source struct {
	*bufio.Reader
	f          *os.File
	zr         io.Closer
	Compressed bool
	// Size is the size of the file on disk.
	Size int64
}

// Open opens path, sniffing gzip compression from its first bytes rather
// than trusting its name.
func Open(path string) (*Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s is a directory", path)
	}
	s := &Source{f: f, Size: st.Size()}
	br := bufio.NewReaderSize(f, 1<<16)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := Decompress(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("gzip: %w", err)
		}
		s.zr = zr
		s.Compressed = true
		s.Reader = bufio.NewReaderSize(zr, 1<<16)
		return s, nil
	}
	s.Reader = br
	return s, nil
}

// Close closes the file.
func (s *Source) Close() error {
	if s.zr != nil {
		s.zr.Close()
	}
	return s.f.Close()
}

// CheckAvailable reports whether a stream of this source can hold end bytes
// (counted from its start, after decompression): exactly for a plain file,
// by the deflate ratio bound for a compressed one.
func (s *Source) CheckAvailable(end int64) error {
	return CheckAvailable(end, s.Size, s.Compressed)
}

// MaxBzip2Ratio is the expansion allowed for bzip2 data. bzip2 itself has
// no useful bound, so this is a policy: far above what CT or label maps
// reach, far below what lets a few bytes claim gigabytes.
const MaxBzip2Ratio = 1 << 16

// CheckAvailable is Source.CheckAvailable for a file of size bytes.
func CheckAvailable(end, size int64, compressed bool) error {
	if compressed {
		return CheckRatio(end, size, MaxDeflateRatio)
	}
	if end < 0 || end > size {
		return fmt.Errorf("%w: header needs %d bytes, file has %d", ErrTruncated, end, size)
	}
	return nil
}

// CheckRatio refuses a header that needs end bytes out of size compressed
// bytes at more than ratio:1.
func CheckRatio(end, size, ratio int64) error {
	if end < 0 || end/ratio > size {
		return fmt.Errorf("%w: header needs %d bytes but %d compressed bytes cannot hold more than %d", ErrTruncated, end, size, size*ratio)
	}
	return nil
}

// Inflate returns a reader of the deflate data at the start of r, whether
// it is wrapped as gzip (NRRD's "gzip" encoding) or zlib (MetaImage's
// CompressedData): writers in the wild mix the two up, and the first two
// bytes tell them apart.
func Inflate(r io.Reader) (io.ReadCloser, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 1<<16)
	}
	magic, err := br.Peek(2)
	if err != nil {
		return nil, fmt.Errorf("compressed data: %w", err)
	}
	if magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := Decompress(br)
		if err != nil {
			return nil, fmt.Errorf("gzip data: %w", err)
		}
		return zr, nil
	}
	zr, err := zlib.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("compressed data is neither gzip nor zlib: %w", err)
	}
	return zr, nil
}

// Skip discards n bytes of r.
func Skip(r io.Reader, n int64) error {
	if n <= 0 {
		return nil
	}
	got, err := io.CopyN(io.Discard, r, n)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: ended %d bytes before the voxel data", ErrTruncated, n-got)
		}
		return err
	}
	return nil
}

// VoxelCount multiplies dims and checks the product against volume.MaxVoxels
// so a header cannot make a reader allocate without bound.
func VoxelCount(dims ...int64) (int64, error) {
	n := int64(1)
	for i, d := range dims {
		if d <= 0 {
			return 0, fmt.Errorf("dimension %d is %d, want > 0", i, d)
		}
		if n > volume.MaxVoxels/d {
			return 0, fmt.Errorf("dimensions %v exceed the limit of %d voxels", dims, int64(volume.MaxVoxels))
		}
		n *= d
	}
	return n, nil
}

// PickVolume resolves which 3-D volume of a file holding nvol of them to
// read: the only one of a 3-D file, or the one asked for. A 4-D file read
// without a choice is an error that says how to choose.
func PickVolume(nvol int64, pick bool, index int) (int64, error) {
	if pick {
		if index < 0 || int64(index) >= nvol {
			return 0, fmt.Errorf("volume %d asked for, but the file holds %d volume(s) (0-based: 0..%d)", index, nvol, nvol-1)
		}
		return int64(index), nil
	}
	if nvol > 1 {
		return 0, fmt.Errorf("file is 4-D with %d volumes; choose one with --volume N (0-based, 0..%d)", nvol, nvol-1)
	}
	return 0, nil
}

// WriteHeaderAndData writes an image atomically (package atomicfile): the
// header hdr followed by the voxels writeData writes in one file at path, or,
// when dataPath is not empty, the voxels in dataPath and the header alone in
// path. A detached pair writes its data first, so a header never points at a
// missing file.
func WriteHeaderAndData(path, dataPath string, hdr []byte, writeData func(io.Writer) error) error {
	if dataPath != "" {
		if err := atomicfile.Write(dataPath, writeData); err != nil {
			return err
		}
		return atomicfile.WriteBytes(path, hdr)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		if _, err := w.Write(hdr); err != nil {
			return err
		}
		return writeData(w)
	})
}

// Decompress returns a gzip reader on r: klauspost's inflate, about twice
// as fast as the standard library's, with checksumming and read-ahead on a
// second goroutine (pgzip).
func Decompress(r io.Reader) (io.ReadCloser, error) {
	return pgzip.NewReader(r)
}

// Compress returns a gzip writer on w for image voxels: pgzip at level 1
// (as nibabel writes: several times faster than the default level for a few
// percent in size on CT), compressing 1 MiB blocks on every core, so
// writing a head CT's label map or image is no longer one core's work. The
// stream is ordinary gzip; the bytes do not depend on the number of cores.
// Close flushes it.
func Compress(w io.Writer) io.WriteCloser {
	zw, _ := pgzip.NewWriterLevel(w, pgzip.BestSpeed) // BestSpeed is a valid level
	_ = zw.SetConcurrency(1<<20, max(2, runtime.GOMAXPROCS(0)))
	return zw
}

// FormatBytes writes a byte count in GiB, MiB or KiB for messages.
func FormatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.3g GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.3g MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.3g KiB", float64(n)/(1<<10))
}
