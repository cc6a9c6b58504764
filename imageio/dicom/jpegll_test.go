package dicom

import (
	"math/rand"
	"testing"
)

// encodeLossless is a minimal lossless JPEG (process 14) encoder for tests:
// one component, every difference category coded in 5 bits, optional
// restart interval (in samples) and point transform. It exercises decoder
// paths dcmtk does not write: restart markers and the category-16
// difference of 32768.
func encodeLossless(img []uint16, rows, cols, precision, pred, pt, restart int) []byte {
	var out []byte
	seg := func(marker byte, body []byte) {
		out = append(out, 0xFF, marker, byte((len(body)+2)>>8), byte(len(body)+2))
		out = append(out, body...)
	}
	out = append(out, 0xFF, 0xD8)
	seg(0xC3, []byte{byte(precision), byte(rows >> 8), byte(rows), byte(cols >> 8), byte(cols), 1, 1, 0x11, 0})
	// DHT: 17 symbols (categories 0..16), all 5-bit codes.
	dht := []byte{0x00, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	for s := 0; s <= 16; s++ {
		dht = append(dht, byte(s))
	}
	seg(0xC4, dht)
	if restart > 0 {
		seg(0xDD, []byte{byte(restart >> 8), byte(restart)})
	}
	seg(0xDA, []byte{1, 1, 0x00, byte(pred), 0, byte(pt)})

	var acc uint64
	var nbits int
	flushByte := func(b byte) {
		out = append(out, b)
		if b == 0xFF {
			out = append(out, 0x00)
		}
	}
	put := func(v, n int) {
		acc = acc<<uint(n) | uint64(v)&(1<<uint(n)-1)
		nbits += n
		for nbits >= 8 {
			flushByte(byte(acc >> uint(nbits-8)))
			nbits -= 8
		}
	}
	align := func() { // pad with 1-bits, as T.81 F.1.2.3 asks
		if nbits > 0 {
			put(0xFF, 8-nbits)
		}
	}
	x := make([]int, len(img)) // reduced samples
	for i, v := range img {
		x[i] = int(v) >> uint(pt)
	}
	first, rst := 0, 0
	for r := 0; r < rows; r++ {
		if restart > 0 && r > 0 && (r*cols)%restart == 0 {
			align()
			out = append(out, 0xFF, byte(0xD0+rst%8))
			rst++
			first = r
		}
		for c := 0; c < cols; c++ {
			var px int
			ra := func() int { return x[r*cols+c-1] }
			rb := func() int { return x[(r-1)*cols+c] }
			rc := func() int { return x[(r-1)*cols+c-1] }
			switch {
			case r == first && c == 0:
				px = 1 << uint(precision-pt-1)
			case r == first:
				px = ra()
			case c == 0:
				px = rb()
			default:
				px = [...]int{0, ra(), rb(), rc(), ra() + rb() - rc(), ra() + ((rb() - rc()) >> 1), rb() + ((ra() - rc()) >> 1), (ra() + rb()) >> 1}[pred]
			}
			diff := (x[r*cols+c] - px) & 0xFFFF
			if diff >= 32768 {
				diff -= 65536
			}
			s, mag := 0, diff
			if mag < 0 {
				mag = -mag
			}
			for mag > 0 {
				s++
				mag >>= 1
			}
			put(s, 5)
			switch {
			case s == 16: // 32768: no extra bits
			case diff < 0:
				put(diff-1, s)
			case s > 0:
				put(diff, s)
			}
		}
	}
	align()
	return append(out, 0xFF, 0xD9)
}

func TestJPEGLosslessRestartAndExtremes(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	const rows, cols = 9, 7
	img := make([]uint16, rows*cols)
	for i := range img {
		img[i] = uint16(rng.Intn(65536))
	}
	img[1], img[2] = 0, 32768 // a difference of exactly 32768 (category 16)
	for _, tc := range []struct{ precision, pred, pt, restart int }{
		{16, 1, 0, 0}, {16, 7, 0, 2 * cols}, {16, 4, 0, cols}, {16, 6, 2, 3 * cols}, {12, 5, 0, cols}, {8, 2, 1, 4 * cols}, {2, 3, 0, 0},
	} {
		want := make([]uint16, len(img))
		for i, v := range img {
			want[i] = v & (1<<uint(tc.precision) - 1) >> uint(tc.pt) << uint(tc.pt)
		}
		frame := encodeLossless(want, rows, cols, tc.precision, tc.pred, tc.pt, tc.restart)
		got, p, err := decodeJPEGLossless(frame, rows, cols)
		if err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		if p != tc.precision {
			t.Errorf("%+v: precision %d", tc, p)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%+v: sample %d = %d, want %d", tc, i, got[i], want[i])
			}
		}
	}
	// A restart interval that is not whole rows is refused, not misread.
	if _, _, err := decodeJPEGLossless(encodeLossless(img, rows, cols, 16, 1, 0, 5), rows, cols); err == nil {
		t.Error("restart interval of 5 samples accepted")
	}
}
