package dicom

import (
	"encoding/binary"
	"errors"
)

// Not every DICOM file has the 128-byte preamble and "DICM": old ACR-NEMA
// style files and datasets written by pydicom's default save_as from a plain
// Dataset start straight with elements, either the file meta group (0002)
// without its group length, or the dataset itself (group 0008). canonical
// rewrites those into the standard layout so the scanner and the library see
// one form; looksDICOM is the cheap test folder walks use to decide whether a
// file is worth parsing at all.

var le = binary.LittleEndian

// looksDICOM reports whether a file starting with head (its first 132 bytes,
// or all of it if shorter) is DICOM, with or without preamble.
func looksDICOM(head []byte) bool {
	if hasMagic(head) {
		return true
	}
	if len(head) < 8 {
		return false
	}
	switch le.Uint16(head) {
	case 0x0002:
		return isVR(head[4:6])
	case 0x0008:
		return le.Uint16(head[2:]) < 0x0100 // identifying elements come first
	}
	return false
}

// isVR reports whether b spells a VR defined by PS3.5 Table 6.2-1.
func isVR(b []byte) bool {
	switch string(b) {
	case "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OV",
		"OW", "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV":
		return true
	}
	return false
}

// canonical returns b with preamble, "DICM" and a file meta group led by its
// group length, synthesising what a headless file or a meta group without
// group length lacks. A headless dataset
// without meta group is taken as explicit VR little endian when its first
// element carries a VR, implicit VR little endian otherwise.
func canonical(b []byte) ([]byte, error) {
	if hasMagic(b) {
		rest := b[132:]
		if len(rest) >= 8 && le.Uint16(rest) == 0x0002 && le.Uint16(rest[2:]) != 0x0000 {
			// Preamble and DICM, but a meta group without its group
			// length, as pydicom's save_as writes a FileDataset by default.
			return rebuild(rest)
		}
		return b, nil
	}
	if !looksDICOM(b) {
		return nil, errNotDICOM
	}
	return rebuild(b)
}

// rebuild prefixes preamble, DICM and meta group length to b, a file meta
// group without its length followed by a dataset, or a bare dataset.
func rebuild(b []byte) ([]byte, error) {
	var meta []byte
	ts := ""
	off := 0
	if le.Uint16(b) == 0x0002 {
		for off+8 <= len(b) && le.Uint16(b[off:]) == 0x0002 {
			if !isVR(b[off+4 : off+6]) {
				return nil, errors.New("file meta information (group 0002) without a valid VR")
			}
			next := off + 8 + int(le.Uint16(b[off+6:]))
			if longVR(string(b[off+4 : off+6])) {
				if off+12 > len(b) {
					return nil, errors.New("truncated file meta information")
				}
				next = off + 12 + int(le.Uint32(b[off+8:]))
			}
			if next > len(b) || next < off {
				return nil, errors.New("truncated file meta information")
			}
			switch le.Uint16(b[off+2:]) {
			case 0x0000: // group length: rewritten below
			case 0x0010:
				ts = trimUID(string(b[off+8 : next]))
				fallthrough
			default:
				meta = append(meta, b[off:next]...)
			}
			off = next
		}
	}
	if ts == "" {
		ts = tsImplicitLE
		if off+6 <= len(b) && isVR(b[off+4:off+6]) {
			ts = tsExplicitLE
		}
		meta = append(meta, uiElement(0x0010, ts)...)
	}
	out := make([]byte, 0, 132+12+len(meta)+len(b)-off)
	out = append(out, make([]byte, 128)...)
	out = append(out, "DICM"...)
	out = append(out, 0x02, 0x00, 0x00, 0x00, 'U', 'L', 0x04, 0x00)
	out = le.AppendUint32(out, uint32(len(meta)))
	out = append(out, meta...)
	return append(out, b[off:]...), nil
}

// uiElement encodes a group 0002 UI element in explicit VR little endian.
func uiElement(elem uint16, uid string) []byte {
	v := []byte(uid)
	if len(v)%2 == 1 {
		v = append(v, 0)
	}
	out := []byte{0x02, 0x00, byte(elem), byte(elem >> 8), 'U', 'I'}
	out = le.AppendUint16(out, uint16(len(v)))
	return append(out, v...)
}
