package nifti

import (
	"path/filepath"
	"testing"

	"github.com/otoseg/otoseg/volume"
)

// ctLike is a 512x512x200 int16 volume shaped like a head CT (air outside,
// soft tissue with noise inside, a bone shell) so gzip sees realistic
// entropy.
func ctLike(b *testing.B) *volume.Volume {
	b.Helper()
	g := volume.NewGeometry([3]int{512, 512, 200}, [3]float64{0.4, 0.4, 0.6})
	v := volume.New(g, volume.Int16)
	seed := uint32(1)
	for k := range 200 {
		for j := range 512 {
			for i := range 512 {
				x, y := float64(i-256)/200, float64(j-256)/230
				r := x*x + y*y
				seed = seed*1664525 + 1013904223
				noise := float32(seed>>24) / 8
				val := float32(-1000) + noise
				switch {
				case r < 0.8:
					val = 40 + noise
				case r < 1:
					val = 1200 + 10*noise
				}
				v.Data[i+512*(j+512*k)] = val
			}
		}
	}
	return v
}

// BenchmarkWriteNiiGz512 writes a 512x512x200 int16 CT as .nii.gz:
//
//	go test ./imageio/nifti -run XXX -bench NiiGz -benchtime 3x
func BenchmarkWriteNiiGz512(b *testing.B) {
	v := ctLike(b)
	p := filepath.Join(b.TempDir(), "ct.nii.gz")
	b.SetBytes(int64(len(v.Data) * 2))
	b.ResetTimer()
	for range b.N {
		if err := Write(p, v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadNiiGz512 reads it back.
func BenchmarkReadNiiGz512(b *testing.B) {
	v := ctLike(b)
	p := filepath.Join(b.TempDir(), "ct.nii.gz")
	if err := Write(p, v); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(v.Data) * 2))
	b.ResetTimer()
	for range b.N {
		if _, err := Read(p, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteLabelsNiiGz512 writes a head CT's label map: 512x512x200
// uint8, zero but for two ears' worth of labels, as segmentation does.
func BenchmarkWriteLabelsNiiGz512(b *testing.B) {
	g := volume.NewGeometry([3]int{512, 512, 200}, [3]float64{0.45, 0.45, 0.6})
	v := volume.New(g, volume.Uint8)
	for _, ci := range []int{150, 360} {
		for k := 80; k < 110; k++ {
			for j := 220; j < 260; j++ {
				for i := ci - 15; i < ci+15; i++ {
					v.Data[g.Index(i, j, k)] = float32(1 + (i+j+k)%3)
				}
			}
		}
	}
	p := filepath.Join(b.TempDir(), "labels.nii.gz")
	b.SetBytes(int64(len(v.Data)))
	b.ResetTimer()
	for range b.N {
		if err := Write(p, v); err != nil {
			b.Fatal(err)
		}
	}
}
