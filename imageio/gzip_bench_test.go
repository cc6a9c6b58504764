package imageio_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"sync"
	"testing"

	"github.com/otoseg/otoseg/imageio/internal/voxio"
	"github.com/otoseg/otoseg/phantom"
)

// headCT is a 512 x 512 x 200 whole-head phantom as the int16 bytes a
// NIfTI file holds, and its gzip stream at level 1 (made once).
var headCT = sync.OnceValues(func() ([]byte, []byte) {
	c, _ := phantom.CentreByName("B")
	img, _, _, err := phantom.Generate(phantom.Config{Centre: c, Seed: 11, FOV: phantom.FOVHead,
		Extent: [3]float64{230.4, 230.4, 120}, Spacing: [3]float64{0.45, 0.45, 0.6}})
	if err != nil {
		panic(err)
	}
	raw := make([]byte, 2*len(img.Data))
	for i, v := range img.Data {
		binary.LittleEndian.PutUint16(raw[2*i:], uint16(int16(v)))
	}
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
	zw.Write(raw)
	zw.Close()
	return raw, z.Bytes()
})

// BenchmarkGzipHeadCT compresses and decompresses a whole-head CT's voxels
// with the standard library and with what imageio uses (pgzip, level 1 on
// every core; klauspost's inflate), side by side: run with
// -bench GzipHeadCT -benchtime 5x and compare the pairs.
func BenchmarkGzipHeadCT(b *testing.B) {
	raw, z := headCT()
	b.Run("compress/stdlib", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
			zw.Write(raw)
			zw.Close()
		}
	})
	b.Run("compress/imageio", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			zw := voxio.Compress(io.Discard)
			zw.Write(raw)
			zw.Close()
		}
	})
	b.Run("decompress/stdlib", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			zr, _ := gzip.NewReader(bytes.NewReader(z))
			io.Copy(io.Discard, zr)
		}
	})
	b.Run("decompress/imageio", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			zr, _ := voxio.Decompress(bytes.NewReader(z))
			io.Copy(io.Discard, zr)
		}
	})
}
