package dicom

import (
	"errors"
	"fmt"
)

// decodeJPEGLossless decodes a single-component lossless JPEG (ITU T.81
// process 14, Huffman coded, any predictor 1-7, any point transform), as
// DICOM stores under transfer syntaxes 1.2.840.10008.1.2.4.57 and .70. It
// returns rows*cols samples (column fastest) and the sample precision.
//
// Go's image/jpeg decodes baseline and progressive JPEG only, and
// suyashkumar/dicom hands compressed frames to it, so lossless CT needs this.
func decodeJPEGLossless(b []byte, rows, cols int) ([]uint16, int, error) {
	d := jpegDecoder{b: b}
	return d.decode(rows, cols)
}

// lutBits is the code length decoded by one table lookup; lossless JPEG
// tables rarely use codes longer than 9 bits.
const lutBits = 9

type lutEntry struct{ value, length uint8 }

type huffTable struct {
	lut     [1 << lutBits]lutEntry
	maxcode [18]int32 // maxcode[l]: largest code of length l, -1 if none
	valptr  [17]int32
	mincode [17]int32
	vals    []byte
	defined bool
}

type jpegDecoder struct {
	b   []byte
	pos int
	// bit reader state: nbits valid bits at the bottom of acc
	acc   uint64
	nbits int
	// marker is set once the entropy-coded data ran into a marker; pad
	// counts the zero bytes supplied past it.
	marker bool
	pad    int

	tables [4]huffTable
}

func (d *jpegDecoder) u16(p int) int { return int(d.b[p])<<8 | int(d.b[p+1]) }

func (d *jpegDecoder) decode(rows, cols int) ([]uint16, int, error) {
	b := d.b
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return nil, 0, errors.New("no SOI marker at the start of the frame")
	}
	d.pos = 2
	precision, restart := 0, 0
	sofSeen := false
	for {
		// Find the next marker, skipping fill bytes.
		if d.pos+2 > len(b) {
			return nil, 0, errors.New("no scan before the end of the frame")
		}
		if b[d.pos] != 0xFF {
			return nil, 0, fmt.Errorf("expected a marker at byte %d, found 0x%02X", d.pos, b[d.pos])
		}
		m := b[d.pos+1]
		d.pos += 2
		if m == 0xFF {
			d.pos--
			continue
		}
		if m == 0xD8 || (m >= 0xD0 && m <= 0xD7) || m == 0x01 {
			continue // parameterless
		}
		if m == 0xD9 {
			return nil, 0, errors.New("end of image before any scan")
		}
		if d.pos+2 > len(b) {
			return nil, 0, fmt.Errorf("truncated marker segment 0xFF%02X", m)
		}
		segLen := d.u16(d.pos)
		if segLen < 2 || d.pos+segLen > len(b) {
			return nil, 0, fmt.Errorf("marker segment 0xFF%02X has length %d past the end of the frame", m, segLen)
		}
		seg := b[d.pos+2 : d.pos+segLen]
		d.pos += segLen
		switch {
		case m == 0xC3:
			if len(seg) < 6 {
				return nil, 0, errors.New("short SOF3 segment")
			}
			precision = int(seg[0])
			y, x, nf := int(seg[1])<<8|int(seg[2]), int(seg[3])<<8|int(seg[4]), int(seg[5])
			if precision < 2 || precision > 16 {
				return nil, 0, fmt.Errorf("sample precision %d, want 2 to 16", precision)
			}
			if nf != 1 || len(seg) < 9 {
				return nil, 0, fmt.Errorf("%d components: only grey-level (1 component) images are supported", nf)
			}
			if y != rows || x != cols {
				return nil, 0, fmt.Errorf("JPEG image is %dx%d, DICOM header says %dx%d", x, y, cols, rows)
			}
			if seg[7] != 0x11 {
				return nil, 0, fmt.Errorf("sampling factors 0x%02X, want 1x1", seg[7])
			}
			sofSeen = true
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			return nil, 0, fmt.Errorf("JPEG process with SOF marker 0xFF%02X is not lossless process 14 (SOF3)", m)
		case m == 0xC4:
			if err := d.defineHuffman(seg); err != nil {
				return nil, 0, err
			}
		case m == 0xDD:
			if len(seg) != 2 {
				return nil, 0, errors.New("malformed DRI segment")
			}
			restart = int(seg[0])<<8 | int(seg[1])
		case m == 0xDA:
			if !sofSeen {
				return nil, 0, errors.New("scan before the SOF3 frame header")
			}
			if len(seg) < 6 || seg[0] != 1 {
				return nil, 0, errors.New("scan header: want exactly one component")
			}
			td := int(seg[2] >> 4)
			if td > 3 || !d.tables[td].defined {
				return nil, 0, fmt.Errorf("scan uses undefined Huffman table %d", td)
			}
			pred, pt := int(seg[3]), int(seg[5]&0x0F)
			if pred < 1 || pred > 7 {
				return nil, 0, fmt.Errorf("predictor %d, want 1 to 7", pred)
			}
			if pt >= precision {
				return nil, 0, fmt.Errorf("point transform %d for %d-bit samples", pt, precision)
			}
			if restart > 0 && restart%cols != 0 {
				return nil, 0, fmt.Errorf("restart interval %d is not a whole number of rows (%d samples)", restart, cols)
			}
			out, err := d.scan(rows, cols, precision, pred, pt, restart, &d.tables[td])
			return out, precision, err
		default:
			// APPn, COM, DQT, DNL and the like: skipped.
		}
	}
}

// defineHuffman reads one or more tables from a DHT segment.
func (d *jpegDecoder) defineHuffman(seg []byte) error {
	for len(seg) > 0 {
		if len(seg) < 17 {
			return errors.New("short DHT segment")
		}
		id := int(seg[0] & 0x0F)
		if seg[0]>>4 > 1 || id > 3 {
			return fmt.Errorf("Huffman table class/id 0x%02X", seg[0])
		}
		t := &d.tables[id]
		*t = huffTable{}
		total := 0
		var counts [17]int
		for l := 1; l <= 16; l++ {
			counts[l] = int(seg[l])
			total += counts[l]
		}
		if total == 0 || total > 256 || len(seg) < 17+total {
			return errors.New("malformed DHT segment")
		}
		t.vals = append([]byte(nil), seg[17:17+total]...)
		// Canonical codes (T.81 Annex C and F.2.2.3).
		code, k := int32(0), int32(0)
		for l := 1; l <= 16; l++ {
			t.valptr[l] = k
			t.mincode[l] = code
			code += int32(counts[l])
			k += int32(counts[l])
			if counts[l] > 0 {
				t.maxcode[l] = code - 1
			} else {
				t.maxcode[l] = -1
			}
			if code > 1<<uint(l) {
				return errors.New("Huffman table has more codes than fit their lengths")
			}
			code <<= 1
		}
		t.maxcode[17] = 1 << 30 // sentinel
		for l := 1; l <= lutBits; l++ {
			for c := t.mincode[l]; c <= t.maxcode[l]; c++ {
				v := t.vals[t.valptr[l]+c-t.mincode[l]]
				shift := uint(lutBits - l)
				for j := c << shift; j < (c+1)<<shift; j++ {
					t.lut[j] = lutEntry{value: v, length: uint8(l)}
				}
			}
		}
		t.defined = true
		seg = seg[17+total:]
	}
	return nil
}

// fill tops the bit accumulator up to at least 32 bits. Past a marker it
// supplies zero bytes, as libjpeg does, counting them in pad so truncated
// data is noticed.
func (d *jpegDecoder) fill() {
	for d.nbits <= 56 {
		var v byte
		if !d.marker && d.pos < len(d.b) {
			v = d.b[d.pos]
			if v == 0xFF {
				if d.pos+1 < len(d.b) && d.b[d.pos+1] == 0x00 {
					d.pos += 2
				} else {
					d.marker = true // a marker: leave pos on it
					v = 0
				}
			} else {
				d.pos++
			}
		} else {
			d.marker = true
		}
		if d.marker {
			d.pad++
		}
		d.acc = d.acc<<8 | uint64(v)
		d.nbits += 8
	}
}

// peek returns the next n (<= 32) bits without consuming them.
func (d *jpegDecoder) peek(n int) int {
	if d.nbits < n {
		d.fill()
	}
	return int(d.acc>>uint(d.nbits-n)) & (1<<uint(n) - 1)
}

func (d *jpegDecoder) bits(n int) int {
	v := d.peek(n)
	d.nbits -= n
	return v
}

// symbol decodes one Huffman-coded value: codes up to lutBits long through
// the table, longer ones by the canonical-code walk of T.81 F.2.2.3.
func (d *jpegDecoder) symbol(t *huffTable) (int, error) {
	e := t.lut[d.peek(lutBits)]
	if e.length > 0 {
		d.nbits -= int(e.length)
		return int(e.value), nil
	}
	look := d.peek(16)
	for l := lutBits + 1; l <= 16; l++ {
		code := int32(look >> uint(16-l))
		if code <= t.maxcode[l] {
			d.nbits -= l
			i := t.valptr[l] + code - t.mincode[l]
			if i < 0 || int(i) >= len(t.vals) {
				return 0, errors.New("invalid Huffman code")
			}
			return int(t.vals[i]), nil
		}
	}
	return 0, errors.New("invalid Huffman code")
}

// restartMarker consumes an RSTn marker at a restart interval boundary.
func (d *jpegDecoder) restartMarker() error {
	if d.pad*8 > d.nbits {
		return errors.New("entropy-coded data ends before a restart marker")
	}
	d.nbits, d.acc, d.marker, d.pad = 0, 0, false, 0
	for d.pos+1 < len(d.b) && d.b[d.pos] == 0xFF && d.b[d.pos+1] == 0xFF {
		d.pos++
	}
	if d.pos+1 >= len(d.b) || d.b[d.pos] != 0xFF || d.b[d.pos+1] < 0xD0 || d.b[d.pos+1] > 0xD7 {
		return fmt.Errorf("missing restart marker at byte %d", d.pos)
	}
	d.pos += 2
	return nil
}

// scan decodes the entropy-coded samples (T.81 Annex H).
func (d *jpegDecoder) scan(rows, cols, precision, pred, pt, restart int, t *huffTable) ([]uint16, error) {
	out := make([]uint16, rows*cols)
	initial := 1 << uint(precision-pt-1)
	firstRow := 0 // the row where the current restart interval began
	for r := 0; r < rows; r++ {
		if restart > 0 && r > 0 && (r*cols)%restart == 0 {
			if err := d.restartMarker(); err != nil {
				return nil, err
			}
			firstRow = r
		}
		row := out[r*cols : (r+1)*cols]
		var prev []uint16
		if r > firstRow {
			prev = out[(r-1)*cols : r*cols]
		}
		for c := 0; c < cols; c++ {
			var px int
			switch {
			case prev == nil && c == 0:
				px = initial
			case prev == nil:
				px = int(row[c-1])
			case c == 0:
				px = int(prev[0])
			default:
				ra, rb, rc := int(row[c-1]), int(prev[c]), int(prev[c-1])
				switch pred {
				case 1:
					px = ra
				case 2:
					px = rb
				case 3:
					px = rc
				case 4:
					px = ra + rb - rc
				case 5:
					px = ra + ((rb - rc) >> 1)
				case 6:
					px = rb + ((ra - rc) >> 1)
				case 7:
					px = (ra + rb) >> 1
				}
			}
			s, err := d.symbol(t)
			if err != nil {
				return nil, fmt.Errorf("sample (%d,%d): %w", c, r, err)
			}
			var diff int
			switch {
			case s == 0:
			case s == 16:
				diff = 32768
			case s > 16:
				return nil, fmt.Errorf("sample (%d,%d): difference category %d > 16", c, r, s)
			default:
				v := d.bits(s)
				if v < 1<<uint(s-1) {
					v += 1 - 1<<uint(s)
				}
				diff = v
			}
			row[c] = uint16(px + diff)
		}
	}
	if d.pad*8 > d.nbits {
		return nil, errors.New("entropy-coded data ends before the last sample")
	}
	if pt > 0 {
		for i, v := range out {
			out[i] = v << uint(pt)
		}
	}
	return out, nil
}
