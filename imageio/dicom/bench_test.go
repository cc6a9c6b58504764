package dicom

import (
	"os"
	"testing"
)

// BenchmarkReadSeries reads the series folder named by $DICOM_BENCH_DIR,
// for example one written by testdata/make_bench_series.py:
//
//	/usr/bin/python3 testdata/make_bench_series.py /tmp/bench 200 --jpeg --rle
//	DICOM_BENCH_DIR=/tmp/bench/jpeg go test -run XXX -bench ReadSeries -benchtime 3x ./imageio/dicom
//
// It is skipped without the variable: the data is too big to commit.
func BenchmarkReadSeries(b *testing.B) {
	dir := os.Getenv("DICOM_BENCH_DIR")
	if dir == "" {
		b.Skip("set DICOM_BENCH_DIR to a series folder")
	}
	for b.Loop() {
		v, err := Read(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(v.Data)) * 2)
	}
}

// BenchmarkDecodeJPEGLossless decodes the fixture's 16x12 lossless JPEG frame.
func BenchmarkDecodeJPEGLossless(b *testing.B) {
	frag := fragmentOf(b, "jpeg57/IM0003")
	for b.Loop() {
		if _, _, err := decodeJPEGLossless(frag, 12, 16); err != nil {
			b.Fatal(err)
		}
	}
}
