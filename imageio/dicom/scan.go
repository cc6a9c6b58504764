package dicom

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/suyashkumar/dicom/pkg/tag"
)

// The scanner walks a file's element structure before github.com/suyashkumar/dicom
// sees it. That library trusts value lengths from the file: it allocates
// make([]byte, vl) for any length up to 4 GiB before reading (a 200-byte file
// can ask for 4 GiB, which no recover() can catch), type-asserts sequence
// contents and recurses without a depth limit. The scanner mirrors the
// library's reading rules (same tag, VR and length decoding, the same
// dictionary for implicit VR, the same value kinds) but accepts only a strict
// grammar in which every length fits inside its container, so whatever
// reaches the library is something it parses without surprises.
//
// Private elements and elements the library cannot parse at all (values of
// VR UN with undefined length, i.e. private sequences as Philips and GE
// write them) are checked here and then cut out of the bytes handed to the
// library: nothing in them is needed to build a volume. So is
// SpecificCharacterSet: the library refuses files whose character set it
// does not know (vendors write "ISO_IR100" and the like) and fails on text
// that does not decode, while the reader needs only UIDs and numbers, which
// are ASCII in every character set; descriptions are kept as raw bytes.

// maxDepth caps sequence nesting. Real files nest three or four levels; the
// cap keeps the library's recursion shallow.
const maxDepth = 12

const undefinedLength = 0xFFFFFFFF

// scanResult is what the walk learnt about a file.
type scanResult struct {
	// transferSyntax is the meta header's TransferSyntaxUID.
	transferSyntax string
	// clean is the file as the library may see it: meta information and
	// top-level elements up to and including PixelData, without the
	// elements cut out.
	clean []byte
	// pixelStart and pixelEnd bound the top-level PixelData element (tag
	// included) in clean; pixelStart is -1 when the file has none.
	pixelStart, pixelEnd int
	// encapsulated tells whether PixelData holds fragments.
	encapsulated bool
}

type scanner struct {
	b        []byte
	bo       binary.ByteOrder
	implicit bool
	// opaque is set while an element is met that the library cannot parse.
	opaque bool
}

// errNotDICOM marks a file without the DICOM preamble and "DICM" magic;
// folder reads skip such files (READMEs, viewers, thumbnails).
var errNotDICOM = errors.New("not a DICOM file (no DICM magic at byte 128 and no DICOM elements at the start)")

// scanFile checks the structure of a DICOM file held in b, up to the end of
// its top-level PixelData (what follows is never parsed).
func scanFile(b []byte) (scanResult, error) {
	res := scanResult{pixelStart: -1}
	if len(b) < 132 || string(b[128:132]) != "DICM" {
		return res, errNotDICOM
	}
	s := &scanner{b: b, bo: binary.LittleEndian}
	// File meta information: explicit VR little endian, led by its group length.
	off := 132
	if len(b) < off+12 || binary.LittleEndian.Uint16(b[off:]) != 2 || binary.LittleEndian.Uint16(b[off+2:]) != 0 ||
		string(b[off+4:off+6]) != "UL" || binary.LittleEndian.Uint16(b[off+6:]) != 4 {
		return res, errors.New("file meta information does not start with its group length (0002,0000) UL")
	}
	metaLen := int64(binary.LittleEndian.Uint32(b[off+8:]))
	off += 12
	if metaLen > int64(len(b)-off) {
		return res, fmt.Errorf("file meta group length %d runs past the end of the file", metaLen)
	}
	metaEnd := off + int(metaLen)
	for off < metaEnd {
		t, next, err := s.element(off, metaEnd, 0, &res)
		if err != nil {
			return res, fmt.Errorf("file meta information: %w", err)
		}
		if t.Group != 2 || s.opaque {
			return res, fmt.Errorf("file meta information holds element %s", t)
		}
		if t == tag.TransferSyntaxUID {
			vr := string(b[off+4 : off+6])
			if vr != "UI" {
				return res, fmt.Errorf("TransferSyntaxUID has VR %q, want UI", vr)
			}
			res.transferSyntax = trimUID(string(b[off+8 : next]))
		}
		off = next
	}
	if res.transferSyntax == "" {
		return res, errors.New("file meta information has no TransferSyntaxUID (0002,0010)")
	}
	ts, ok := lookupTS(res.transferSyntax)
	if !ok || ts.byteOrder == nil {
		// Not walked (deflated, unknown): the caller reports the transfer
		// syntax by name.
		return res, nil
	}
	s.bo, s.implicit = ts.byteOrder, ts.implicit
	// Top-level elements; spans the library must not see are cut out.
	var cut [][2]int
	for off < len(b) {
		s.opaque = false
		t, next, err := s.element(off, len(b), 0, &res)
		if err != nil {
			return res, err
		}
		if t == tag.PixelData {
			res.pixelStart, res.pixelEnd = off, next
			break
		}
		if s.opaque || t.Group%2 == 1 || t == tag.SpecificCharacterSet {
			cut = append(cut, [2]int{off, next})
		}
		off = next
	}
	end := len(b)
	if res.pixelStart >= 0 {
		end = res.pixelEnd
	}
	if len(cut) == 0 {
		res.clean = b[:end:end]
		return res, nil
	}
	clean := make([]byte, 0, end)
	prev := 0
	removed := 0
	for _, c := range cut {
		clean = append(clean, b[prev:c[0]]...)
		removed += c[1] - c[0]
		prev = c[1]
	}
	clean = append(clean, b[prev:end]...)
	res.clean = clean
	if res.pixelStart >= 0 {
		res.pixelStart -= removed
		res.pixelEnd -= removed
	}
	return res, nil
}

func trimUID(s string) string {
	for len(s) > 0 && (s[len(s)-1] == 0 || s[len(s)-1] == ' ') {
		s = s[:len(s)-1]
	}
	return s
}

// longVR reports the VRs that suyashkumar/dicom reads with 2 reserved bytes
// and a 32-bit length in explicit VR (its read.go, readVL).
func longVR(vr string) bool {
	switch vr {
	case "NA", "OB", "OD", "OF", "OL", "OW", "SQ", "UN", "UC", "UR", "UT":
		return true
	}
	return false
}

// element checks the element at off, which must end by end, and returns its
// tag and the offset just past it. res records top-level pixel data.
func (s *scanner) element(off, end, depth int, res *scanResult) (tag.Tag, int, error) {
	b := s.b
	if end-off < 8 {
		return tag.Tag{}, 0, fmt.Errorf("truncated element at byte %d", off)
	}
	t := tag.Tag{Group: s.bo.Uint16(b[off:]), Element: s.bo.Uint16(b[off+2:])}
	p := off + 4
	var vr string
	var vl uint32
	if s.implicit || t == tag.Item {
		if info, err := tag.Find(t); err == nil {
			vr = info.VR
		} else {
			vr = tag.UnknownVR
		}
		vl = s.bo.Uint32(b[p:])
		p += 4
	} else {
		vr = string(b[p : p+2])
		p += 2
		if t.Group == 0xFFFE {
			// Delimiters carry no VR; the library reads their zero
			// length as VR "\0\0" plus a 16-bit zero length.
			if vr != "\x00\x00" || s.bo.Uint16(b[p:]) != 0 {
				return t, 0, fmt.Errorf("malformed delimiter %s at byte %d", t, off)
			}
			return t, p + 2, nil
		}
		if !(vr[0] >= 'A' && vr[0] <= 'Z' && vr[1] >= 'A' && vr[1] <= 'Z') {
			return t, 0, fmt.Errorf("element %s at byte %d has an invalid VR %q", t, off, vr)
		}
		if vr == "OV" || vr == "SV" || vr == "UV" {
			// 64-bit VRs (2019; the Extended Offset Table is OV) have a
			// 32-bit length, which the library reads as 16-bit: checked
			// here and cut out of what it sees.
			if end-p < 6 {
				return t, 0, fmt.Errorf("truncated element %s at byte %d", t, off)
			}
			vl = s.bo.Uint32(b[p+2:])
			p += 6
			if vl == undefinedLength || int64(vl) > int64(end-p) {
				return t, 0, fmt.Errorf("element %s at byte %d: length %d runs past the end of its container", t, off, vl)
			}
			s.opaque = true
			return t, p + int(vl), nil
		}
		if longVR(vr) {
			if end-p < 6 {
				return t, 0, fmt.Errorf("truncated element %s at byte %d", t, off)
			}
			p += 2
			vl = s.bo.Uint32(b[p:])
			p += 4
		} else {
			vl = uint32(s.bo.Uint16(b[p:]))
			if vl == 0xFFFF {
				return t, 0, fmt.Errorf("element %s at byte %d has a 16-bit length of 0xFFFF", t, off)
			}
			p += 2
		}
	}
	left := end - p
	if vl != undefinedLength && int64(vl) > int64(left) {
		return t, 0, fmt.Errorf("element %s at byte %d: length %d runs past the end of its container (%d bytes left)", t, off, vl, left)
	}
	kind := tag.GetVRKind(t, vr)
	if vl == undefinedLength && vr == "UN" && kind == tag.VRBytes {
		// PS3.5 6.2.2: a UN value of undefined length is a sequence in
		// implicit VR little endian. The library would allocate 4 GiB for
		// it, so it is checked here and cut out.
		saveBO, saveImplicit := s.bo, s.implicit
		s.bo, s.implicit = binary.LittleEndian, true
		next, err := s.sequence(t, off, p, end, depth)
		s.bo, s.implicit = saveBO, saveImplicit
		s.opaque = true
		return t, next, err
	}
	switch kind {
	case tag.VRPixelData:
		if vl != undefinedLength {
			return t, p + int(vl), nil
		}
		next, err := s.fragments(p, end)
		if err != nil {
			return t, 0, fmt.Errorf("encapsulated pixel data: %w", err)
		}
		if depth == 0 {
			res.encapsulated = true
		}
		return t, next, nil
	case tag.VRSequence:
		if vl == undefinedLength {
			return s.sequenceUndefined(t, off, p, end, depth)
		}
		return t, p + int(vl), s.definedSequence(t, off, p, p+int(vl), depth)
	case tag.VRItem:
		if depth >= maxDepth {
			return t, 0, fmt.Errorf("items nested deeper than %d at byte %d", maxDepth, off)
		}
		if vl == undefinedLength {
			for {
				et, next, err := s.element(p, end, depth+1, res)
				if err != nil {
					return t, 0, err
				}
				p = next
				if et == tag.ItemDelimitationItem {
					return t, p, nil
				}
			}
		}
		itemEnd := p + int(vl)
		for p < itemEnd {
			_, next, err := s.element(p, itemEnd, depth+1, res)
			if err != nil {
				return t, 0, err
			}
			p = next
		}
		return t, itemEnd, nil
	default:
		if vl == undefinedLength {
			return t, 0, fmt.Errorf("element %s (VR %s) at byte %d has an undefined length", t, vr, off)
		}
		if size := valueSize(vr); size > 0 && vl%size != 0 {
			return t, 0, fmt.Errorf("element %s at byte %d: %s value with length %d, not a multiple of %d", t, off, vr, vl, size)
		}
		return t, p + int(vl), nil
	}
}

// sequence walks a sequence value from p, of undefined length when the
// element at off says so; it returns the offset past the sequence.
func (s *scanner) sequence(t tag.Tag, off, p, end, depth int) (int, error) {
	_, next, err := s.sequenceUndefined(t, off, p, end, depth)
	return next, err
}

// sequenceUndefined walks items until the sequence delimiter.
func (s *scanner) sequenceUndefined(t tag.Tag, off, p, end, depth int) (tag.Tag, int, error) {
	if depth >= maxDepth {
		return t, 0, fmt.Errorf("sequences nested deeper than %d at byte %d", maxDepth, off)
	}
	var dummy scanResult
	for {
		if end-p < 8 {
			return t, 0, fmt.Errorf("sequence %s at byte %d is not terminated", t, off)
		}
		it := tag.Tag{Group: s.bo.Uint16(s.b[p:]), Element: s.bo.Uint16(s.b[p+2:])}
		if it != tag.Item && it != tag.SequenceDelimitationItem {
			return t, 0, fmt.Errorf("sequence %s at byte %d holds %s, not an item", t, off, it)
		}
		_, next, err := s.element(p, end, depth+1, &dummy)
		if err != nil {
			return t, 0, err
		}
		p = next
		if it == tag.SequenceDelimitationItem {
			return t, p, nil
		}
	}
}

// definedSequence walks the items of a sequence of defined length [p, seqEnd).
func (s *scanner) definedSequence(t tag.Tag, off, p, seqEnd, depth int) error {
	if depth >= maxDepth {
		return fmt.Errorf("sequences nested deeper than %d at byte %d", maxDepth, off)
	}
	var dummy scanResult
	for p < seqEnd {
		if seqEnd-p < 8 {
			return fmt.Errorf("truncated item in sequence %s at byte %d", t, off)
		}
		it := tag.Tag{Group: s.bo.Uint16(s.b[p:]), Element: s.bo.Uint16(s.b[p+2:])}
		if it != tag.Item {
			return fmt.Errorf("sequence %s at byte %d holds %s, not an item", t, off, it)
		}
		_, next, err := s.element(p, seqEnd, depth+1, &dummy)
		if err != nil {
			return err
		}
		p = next
	}
	return nil
}

// fragments checks encapsulated pixel data from p: a basic offset table
// item, fragment items, then a sequence delimiter, all with defined lengths.
func (s *scanner) fragments(p, end int) (int, error) {
	for first := true; ; first = false {
		if end-p < 8 {
			return 0, errors.New("fragments are not terminated by a sequence delimiter")
		}
		t := tag.Tag{Group: s.bo.Uint16(s.b[p:]), Element: s.bo.Uint16(s.b[p+2:])}
		vl := s.bo.Uint32(s.b[p+4:])
		p += 8
		switch {
		case t == tag.SequenceDelimitationItem && !first:
			if vl != 0 {
				return 0, errors.New("sequence delimiter with a non-zero length")
			}
			return p, nil
		case t != tag.Item:
			return 0, fmt.Errorf("found %s where a fragment item was expected", t)
		case vl == undefinedLength || int64(vl) > int64(end-p):
			return 0, fmt.Errorf("fragment length %d runs past the end of the file", vl)
		}
		p += int(vl)
	}
}

// valueSize is the size of one value of the binary VRs the library reads
// value by value (a partial last value would make it log and fail).
func valueSize(vr string) uint32 {
	switch vr {
	case "OW", "US", "SS", "AT":
		return 2
	case "UL", "SL", "FL":
		return 4
	case "FD":
		return 8
	}
	return 0
}
