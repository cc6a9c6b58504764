// Package nifti reads and writes NIfTI-1 and NIfTI-2 images (.nii, .nii.gz,
// and reads .hdr/.img pairs), following the standard and nibabel's choices
// where the standard leaves room: the affine is the sform when sform_code>0,
// else the qform when qform_code>0, else the pixdim-only base affine
// (nibabel's get_best_affine), and scl_slope/scl_inter scale the voxels
// unless the slope is 0 or NaN.
package nifti

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/otoseg/otoseg/imageio/internal/voxio"
)

// Header sizes of the two versions.
const (
	size1 = 348
	size2 = 540
)

// Datatype codes (nifti1.h).
const (
	dtUint8   = 2
	dtInt16   = 4
	dtInt32   = 8
	dtFloat32 = 16
	dtFloat64 = 64
	dtInt8    = 256
	dtUint16  = 512
	dtUint32  = 768
	dtInt64   = 1024
	dtUint64  = 1280
)

var kindOfCode = map[int]voxio.Kind{
	dtUint8: voxio.U8, dtInt16: voxio.I16, dtInt32: voxio.I32, dtFloat32: voxio.F32,
	dtFloat64: voxio.F64, dtInt8: voxio.I8, dtUint16: voxio.U16, dtUint32: voxio.U32,
	dtInt64: voxio.I64, dtUint64: voxio.U64,
}

var codeOfKind = map[voxio.Kind]int{
	voxio.U8: dtUint8, voxio.I16: dtInt16, voxio.I32: dtInt32, voxio.F32: dtFloat32,
	voxio.F64: dtFloat64, voxio.I8: dtInt8, voxio.U16: dtUint16, voxio.U32: dtUint32,
	voxio.I64: dtInt64, voxio.U64: dtUint64,
}

// Header is the part of a NIfTI-1 or NIfTI-2 header otoseg uses, with every
// number widened to the NIfTI-2 types.
type Header struct {
	Version   int // 1 or 2
	Order     binary.ByteOrder
	Pair      bool // magic ni1/ni2: voxels live in a separate .img file
	Dim       [8]int64
	Datatype  int
	Bitpix    int
	Pixdim    [8]float64
	VoxOffset int64
	SclSlope  float64
	SclInter  float64
	QformCode int
	SformCode int
	Quatern   [3]float64 // b, c, d
	QOffset   [3]float64
	Srow      [3][4]float64
	XYZTUnits int
	Descrip   string
}

// Size is the header's size in bytes.
func (h *Header) Size() int {
	if h.Version == 2 {
		return size2
	}
	return size1
}

func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// headerSize is the header size sizeof_hdr announces in either byte order,
// or 0 when buf does not start a NIfTI header.
func headerSize(buf []byte) int {
	for _, o := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		if s := o.Uint32(buf); s == size1 || s == size2 {
			return int(s)
		}
	}
	return 0
}

// parseHeader decodes a header from buf, which holds at least its first
// size bytes; size and byte order come from sizeof_hdr.
func parseHeader(buf []byte) (*Header, error) {
	if len(buf) < 4 {
		return nil, fmt.Errorf("file too short for a NIfTI header")
	}
	h := &Header{}
	switch {
	case binary.LittleEndian.Uint32(buf) == size1:
		h.Version, h.Order = 1, binary.LittleEndian
	case binary.BigEndian.Uint32(buf) == size1:
		h.Version, h.Order = 1, binary.BigEndian
	case binary.LittleEndian.Uint32(buf) == size2:
		h.Version, h.Order = 2, binary.LittleEndian
	case binary.BigEndian.Uint32(buf) == size2:
		h.Version, h.Order = 2, binary.BigEndian
	default:
		return nil, fmt.Errorf("not a NIfTI file: sizeof_hdr is neither 348 nor 540")
	}
	if len(buf) < h.Size() {
		return nil, fmt.Errorf("truncated NIfTI-%d header: %d of %d bytes", h.Version, len(buf), h.Size())
	}
	o := h.Order
	i16 := func(off int) int { return int(int16(o.Uint16(buf[off:]))) }
	i32 := func(off int) int { return int(int32(o.Uint32(buf[off:]))) }
	i64 := func(off int) int64 { return int64(o.Uint64(buf[off:])) }
	f32 := func(off int) float64 { return float64(math.Float32frombits(o.Uint32(buf[off:]))) }
	f64 := func(off int) float64 { return math.Float64frombits(o.Uint64(buf[off:])) }
	if h.Version == 1 {
		magic := string(buf[344:348])
		switch magic {
		case "n+1\x00":
		case "ni1\x00":
			h.Pair = true
		default:
			return nil, fmt.Errorf("bad NIfTI-1 magic %q (want \"n+1\" or \"ni1\")", cstring(buf[344:348]))
		}
		for i := range 8 {
			h.Dim[i] = int64(i16(40 + 2*i))
			h.Pixdim[i] = f32(76 + 4*i)
		}
		h.Datatype, h.Bitpix = i16(70), i16(72)
		if vo := f32(108); vo >= 0 && vo <= 1<<40 {
			h.VoxOffset = int64(vo)
		} else {
			h.VoxOffset = -1 // refused by checkHeader
		}
		h.SclSlope, h.SclInter = f32(112), f32(116)
		h.XYZTUnits = int(buf[123])
		h.Descrip = cstring(buf[148:228])
		h.QformCode, h.SformCode = i16(252), i16(254)
		for i := range 3 {
			h.Quatern[i] = f32(256 + 4*i)
			h.QOffset[i] = f32(268 + 4*i)
			for j := range 4 {
				h.Srow[i][j] = f32(280 + 16*i + 4*j)
			}
		}
		return h, nil
	}
	magic := string(buf[4:12])
	switch magic {
	case "n+2\x00\r\n\x1a\n":
	case "ni2\x00\r\n\x1a\n":
		h.Pair = true
	default:
		return nil, fmt.Errorf("bad NIfTI-2 magic %q", cstring(buf[4:12]))
	}
	h.Datatype, h.Bitpix = i16(12), i16(14)
	for i := range 8 {
		h.Dim[i] = i64(16 + 8*i)
		h.Pixdim[i] = f64(104 + 8*i)
	}
	h.VoxOffset = i64(168)
	h.SclSlope, h.SclInter = f64(176), f64(184)
	h.Descrip = cstring(buf[240:320])
	h.QformCode, h.SformCode = i32(344), i32(348)
	for i := range 3 {
		h.Quatern[i] = f64(352 + 8*i)
		h.QOffset[i] = f64(376 + 8*i)
		for j := range 4 {
			h.Srow[i][j] = f64(400 + 32*i + 8*j)
		}
	}
	h.XYZTUnits = i32(500)
	return h, nil
}

// marshal encodes h (little-endian) followed by the 4-byte extension flag.
func (h *Header) marshal() []byte {
	o := binary.LittleEndian
	buf := make([]byte, h.Size()+4)
	p16 := func(off, v int) { o.PutUint16(buf[off:], uint16(int16(v))) }
	p32 := func(off, v int) { o.PutUint32(buf[off:], uint32(int32(v))) }
	p64 := func(off int, v int64) { o.PutUint64(buf[off:], uint64(v)) }
	pf32 := func(off int, v float64) { o.PutUint32(buf[off:], math.Float32bits(float32(v))) }
	pf64 := func(off int, v float64) { o.PutUint64(buf[off:], math.Float64bits(v)) }
	if h.Version == 1 {
		p32(0, size1)
		buf[38] = 'r' // "regular", as nibabel writes
		for i := range 8 {
			p16(40+2*i, int(h.Dim[i]))
			pf32(76+4*i, h.Pixdim[i])
		}
		p16(70, h.Datatype)
		p16(72, h.Bitpix)
		pf32(108, float64(h.VoxOffset))
		pf32(112, h.SclSlope)
		pf32(116, h.SclInter)
		buf[123] = byte(h.XYZTUnits)
		copy(buf[148:227], h.Descrip)
		p16(252, h.QformCode)
		p16(254, h.SformCode)
		for i := range 3 {
			pf32(256+4*i, h.Quatern[i])
			pf32(268+4*i, h.QOffset[i])
			for j := range 4 {
				pf32(280+16*i+4*j, h.Srow[i][j])
			}
		}
		copy(buf[344:], "n+1\x00")
		return buf
	}
	p32(0, size2)
	copy(buf[4:], "n+2\x00\r\n\x1a\n")
	p16(12, h.Datatype)
	p16(14, h.Bitpix)
	for i := range 8 {
		p64(16+8*i, h.Dim[i])
		pf64(104+8*i, h.Pixdim[i])
	}
	p64(168, h.VoxOffset)
	pf64(176, h.SclSlope)
	pf64(184, h.SclInter)
	copy(buf[240:319], h.Descrip)
	p32(344, h.QformCode)
	p32(348, h.SformCode)
	for i := range 3 {
		pf64(352+8*i, h.Quatern[i])
		pf64(376+8*i, h.QOffset[i])
		for j := range 4 {
			pf64(400+32*i+8*j, h.Srow[i][j])
		}
	}
	p32(500, h.XYZTUnits)
	return buf
}
