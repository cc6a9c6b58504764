// Package dicomenc encodes DICOM Part 10 files: a small, explicit builder of
// data sets written in Explicit VR Little Endian with defined lengths
// everywhere.
//
// otoseg writes two kinds of DICOM object, CT image series (imageio/dicom)
// and Segmentations (imageio/dicomseg). Both need exact control over every
// attribute, VR, padding and nested sequence, which a general-purpose
// library's writer makes harder than it is: so elements here are built from
// typed constructors (Str, DS, IS, US, UL, FD, Seq, Bytes) that apply the
// padding and length rules of PS3.5 once, and Write sorts each data set by
// tag, computes every length and adds the file meta information group.
// Correctness is checked in the tests of the writers against dciodvfy,
// dcmdump and pydicom, tools nobody here wrote.
package dicomenc

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// Tag is a DICOM tag as group<<16 | element.
type Tag uint32

// T builds a tag from its group and element.
func T(group, element uint16) Tag { return Tag(uint32(group)<<16 | uint32(element)) }

// Group and Element split a tag.
func (t Tag) Group() uint16   { return uint16(t >> 16) }
func (t Tag) Element() uint16 { return uint16(t) }

func (t Tag) String() string { return fmt.Sprintf("(%04X,%04X)", t.Group(), t.Element()) }

// Element is one attribute: a tag, its value representation and either
// encoded value bytes or, for SQ, items.
type Element struct {
	Tag   Tag
	VR    string
	Value []byte    // encoded, even length
	Items []Dataset // for VR "SQ"
}

// Dataset is a list of elements; Write sorts it by tag.
type Dataset []Element

// ExplicitVRLittleEndian is the transfer syntax Write uses.
const ExplicitVRLittleEndian = "1.2.840.10008.1.2.1"

// ImplementationClassUID and ImplementationVersionName identify otoseg's
// writer in the file meta information (under the 2.25 UUID arc: no
// registered root is needed).
const (
	ImplementationClassUID    = "2.25.196761187375838208745602232719155349471"
	ImplementationVersionName = "OTOSEG_1"
)

// longVRs have a 4-byte length field in explicit VR encoding.
var longVRs = map[string]bool{"OB": true, "OD": true, "OF": true, "OL": true, "OV": true, "OW": true, "SQ": true, "UC": true, "UN": true, "UR": true, "UT": true}

// Str is a string attribute of VR vr (AE, AS, CS, DA, DT, LO, LT, PN, SH,
// ST, TM, UI, UC, UT) with one value per argument, joined by backslashes
// and padded to even length (UI with a NUL, the others with a space). No
// values gives an empty (Type 2) attribute.
func Str(t Tag, vr string, values ...string) Element {
	s := strings.Join(values, `\`)
	if len(s)%2 == 1 {
		if vr == "UI" {
			s += "\x00"
		} else {
			s += " "
		}
	}
	return Element{Tag: t, VR: vr, Value: []byte(s)}
}

// FormatDS formats x as a decimal string of at most 16 characters (PS3.5's
// limit for DS), with as many significant digits as fit. Values within
// 1e-10 of zero (direction cosines of exactly aligned axes after
// arithmetic) are written as 0.
func FormatDS(x float64) string {
	if math.Abs(x) < 1e-10 {
		return "0"
	}
	for prec := 16; prec > 0; prec-- {
		s := strconv.FormatFloat(x, 'g', prec, 64)
		if len(s) <= 16 {
			return s
		}
	}
	return strconv.FormatFloat(x, 'g', 1, 64)
}

// DS is a decimal-string attribute.
func DS(t Tag, values ...float64) Element {
	s := make([]string, len(values))
	for i, v := range values {
		s[i] = FormatDS(v)
	}
	return Str(t, "DS", s...)
}

// IS is an integer-string attribute.
func IS(t Tag, values ...int) Element {
	s := make([]string, len(values))
	for i, v := range values {
		s[i] = strconv.Itoa(v)
	}
	return Str(t, "IS", s...)
}

// US is an unsigned 16-bit attribute.
func US(t Tag, values ...uint16) Element {
	b := make([]byte, 2*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint16(b[2*i:], v)
	}
	return Element{Tag: t, VR: "US", Value: b}
}

// UL is an unsigned 32-bit attribute.
func UL(t Tag, values ...uint32) Element {
	b := make([]byte, 4*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	return Element{Tag: t, VR: "UL", Value: b}
}

// AT is an attribute-tag attribute.
func AT(t Tag, values ...Tag) Element {
	b := make([]byte, 4*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint16(b[4*i:], v.Group())
		binary.LittleEndian.PutUint16(b[4*i+2:], v.Element())
	}
	return Element{Tag: t, VR: "AT", Value: b}
}

// Bytes is an OB or OW attribute holding b, padded with a zero byte to
// even length.
func Bytes(t Tag, vr string, b []byte) Element {
	if len(b)%2 == 1 {
		b = append(b[:len(b):len(b)], 0)
	}
	return Element{Tag: t, VR: vr, Value: b}
}

// Seq is a sequence of items.
func Seq(t Tag, items ...Dataset) Element {
	return Element{Tag: t, VR: "SQ", Items: items}
}

// Code is a coded concept of the Code Sequence Macro (PS3.3 Table 8.8-1).
type Code struct {
	Value, Scheme, Meaning string
}

// CodeSeq is a code sequence attribute with one item per code.
func CodeSeq(t Tag, codes ...Code) Element {
	items := make([]Dataset, len(codes))
	for i, c := range codes {
		items[i] = Dataset{
			Str(T(0x0008, 0x0100), "SH", c.Value),
			Str(T(0x0008, 0x0102), "SH", c.Scheme),
			Str(T(0x0008, 0x0104), "LO", c.Meaning),
		}
	}
	return Seq(t, items...)
}

// UID derives a DICOM UID under the 2.25 arc (a UUID written as a
// decimal integer, PS3.5 B.2) from the SHA-256 of parts. The same parts
// give the same UID, so writing the same input twice gives the same
// instances (a PACS then stores them once), and different inputs collide
// only with the probability of a 128-bit hash.
func UID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	sum := h.Sum(nil)[:16]
	sum[6] = sum[6]&0x0f | 0x80 // version 8 (custom) UUID
	sum[8] = sum[8]&0x3f | 0x80 // RFC 4122 variant
	return "2.25." + new(big.Int).SetBytes(sum).String()
}

// Write writes a DICOM Part 10 file: the 128-byte preamble, "DICM", the
// file meta information group (2) for sopClass and sopInstance, and ds in
// Explicit VR Little Endian. Elements of group 2 in ds are an error.
func Write(w io.Writer, sopClass, sopInstance string, ds Dataset) error {
	meta := Dataset{
		Bytes(T(0x0002, 0x0001), "OB", []byte{0, 1}),
		Str(T(0x0002, 0x0002), "UI", sopClass),
		Str(T(0x0002, 0x0003), "UI", sopInstance),
		Str(T(0x0002, 0x0010), "UI", ExplicitVRLittleEndian),
		Str(T(0x0002, 0x0012), "UI", ImplementationClassUID),
		Str(T(0x0002, 0x0013), "SH", ImplementationVersionName),
	}
	var mb bytes.Buffer
	if err := encode(&mb, meta); err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.Write(make([]byte, 128))
	buf.WriteString("DICM")
	if err := encode(&buf, Dataset{UL(T(0x0002, 0x0000), uint32(mb.Len()))}); err != nil {
		return err
	}
	buf.Write(mb.Bytes())
	for _, e := range ds {
		if e.Tag.Group() == 2 {
			return fmt.Errorf("dicomenc: file meta element %v in the data set", e.Tag)
		}
	}
	if err := encode(&buf, ds); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// Encode returns ds encoded in Explicit VR Little Endian, sorted by tag:
// the body of a file, or of a STOW-RS part after its own meta header.
func Encode(ds Dataset) ([]byte, error) {
	var b bytes.Buffer
	err := encode(&b, ds)
	return b.Bytes(), err
}

// encode writes ds sorted by tag; duplicate tags are an error.
func encode(w *bytes.Buffer, ds Dataset) error {
	sorted := slices.Clone(ds)
	slices.SortStableFunc(sorted, func(a, b Element) int { return int(int64(a.Tag) - int64(b.Tag)) })
	for i := range sorted {
		if i > 0 && sorted[i].Tag == sorted[i-1].Tag {
			return fmt.Errorf("dicomenc: tag %v appears twice", sorted[i].Tag)
		}
		if err := encodeElement(w, sorted[i]); err != nil {
			return fmt.Errorf("%v: %w", sorted[i].Tag, err)
		}
	}
	return nil
}

func encodeElement(w *bytes.Buffer, e Element) error {
	if len(e.VR) != 2 {
		return fmt.Errorf("dicomenc: invalid VR %q", e.VR)
	}
	value := e.Value
	if e.VR == "SQ" {
		var body bytes.Buffer
		for _, it := range e.Items {
			var ib bytes.Buffer
			if err := encode(&ib, it); err != nil {
				return err
			}
			writeHeader16(&body, 0xFFFE, 0xE000)
			writeU32(&body, uint32(ib.Len()))
			body.Write(ib.Bytes())
		}
		value = body.Bytes()
	}
	if len(value)%2 == 1 {
		return fmt.Errorf("dicomenc: odd value length %d", len(value))
	}
	writeHeader16(w, e.Tag.Group(), e.Tag.Element())
	w.WriteString(e.VR)
	if longVRs[e.VR] {
		w.Write([]byte{0, 0})
		if uint64(len(value)) >= 0xFFFFFFFF {
			return fmt.Errorf("dicomenc: value of %d bytes is too long", len(value))
		}
		writeU32(w, uint32(len(value)))
	} else {
		if len(value) > 0xFFFF {
			return fmt.Errorf("dicomenc: value of %d bytes is too long for VR %s", len(value), e.VR)
		}
		var b [2]byte
		binary.LittleEndian.PutUint16(b[:], uint16(len(value)))
		w.Write(b[:])
	}
	w.Write(value)
	return nil
}

func writeHeader16(w *bytes.Buffer, group, element uint16) {
	var b [4]byte
	binary.LittleEndian.PutUint16(b[:], group)
	binary.LittleEndian.PutUint16(b[2:], element)
	w.Write(b[:])
}

func writeU32(w *bytes.Buffer, v uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	w.Write(b[:])
}
