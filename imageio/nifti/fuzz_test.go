package nifti

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/otoseg/otoseg/volume"
)

// FuzzRead feeds arbitrary bytes to the reader as .nii and .nii.gz: it must
// return a valid volume or an error, never panic or hang.
func FuzzRead(f *testing.F) {
	for _, dt := range []volume.DType{volume.Uint8, volume.Int16, volume.Float32, volume.Float64} {
		b := validFile(f, dt)
		f.Add(b, false)
		f.Add(gzipBytes(b), true)
		f.Add(b[:len(b)-3], false)
		f.Add(b[:300], false)
	}
	f.Add([]byte{}, false)
	f.Add([]byte{0x1f, 0x8b, 8, 0}, true)
	f.Fuzz(func(t *testing.T, data []byte, gz bool) {
		name := "f.nii"
		if gz {
			name += ".gz"
		}
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		v, err := Read(p, Options{})
		if err != nil {
			return
		}
		if err := v.Check(); err != nil {
			t.Fatalf("Read returned an invalid volume: %v", err)
		}
		if _, err := ReadHeader(p); err != nil {
			t.Fatalf("Read succeeded but ReadHeader failed: %v", err)
		}
	})
}
