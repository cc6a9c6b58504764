package dicom

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// decodeRLE decodes one frame of DICOM RLE Lossless (PS3.5 Annex G) into
// little-endian samples of bitsAllocated bits. The frame is a 64-byte header
// (segment count and 15 offsets) and one PackBits segment per byte plane,
// most significant plane first.
func decodeRLE(b []byte, rows, cols, bitsAllocated int) ([]byte, error) {
	if len(b) < 64 {
		return nil, fmt.Errorf("frame of %d bytes is shorter than the 64-byte header", len(b))
	}
	planes := bitsAllocated / 8
	nseg := int(binary.LittleEndian.Uint32(b))
	if nseg != planes {
		return nil, fmt.Errorf("%d segments for %d-bit grey pixels, want %d", nseg, bitsAllocated, planes)
	}
	var offsets [16]int
	for i := 0; i < nseg; i++ {
		o := binary.LittleEndian.Uint32(b[4+4*i:])
		if o < 64 || int64(o) > int64(len(b)) || (i > 0 && int(o) < offsets[i-1]) {
			return nil, fmt.Errorf("segment %d offset %d outside the frame (%d bytes)", i, o, len(b))
		}
		offsets[i] = int(o)
	}
	offsets[nseg] = len(b)
	n := rows * cols
	out := make([]byte, n*planes)
	plane := make([]byte, n)
	for s := 0; s < nseg; s++ {
		if err := unpackBits(b[offsets[s]:offsets[s+1]], plane); err != nil {
			return nil, fmt.Errorf("segment %d: %w", s, err)
		}
		// Segment 0 is the most significant byte; little-endian output puts
		// it last in each sample.
		pos := planes - 1 - s
		for i, v := range plane {
			out[i*planes+pos] = v
		}
	}
	return out, nil
}

// unpackBits fills dst from a PackBits segment. Input left over once dst is
// full is ignored (encoders pad segments to an even length).
func unpackBits(src, dst []byte) error {
	o := 0
	for i := 0; i < len(src) && o < len(dst); {
		h := int8(src[i])
		i++
		switch {
		case h >= 0:
			k := int(h) + 1
			if i+k > len(src) {
				return errors.New("literal run past the end of the segment")
			}
			if o+k > len(dst) {
				return errors.New("literal run past the end of the image")
			}
			copy(dst[o:], src[i:i+k])
			i += k
			o += k
		case h != -128:
			k := 1 - int(h)
			if i >= len(src) {
				return errors.New("replicate run past the end of the segment")
			}
			if o+k > len(dst) {
				return errors.New("replicate run past the end of the image")
			}
			v := src[i]
			i++
			for j := 0; j < k; j++ {
				dst[o+j] = v
			}
			o += k
		}
	}
	if o != len(dst) {
		return fmt.Errorf("segment decodes to %d bytes, want %d", o, len(dst))
	}
	return nil
}
