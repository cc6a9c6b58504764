package nrrd

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/otoseg/otoseg/volume"
)

// FuzzRead feeds arbitrary bytes to the NRRD reader: a valid volume or an
// error, never a panic or a hang.
func FuzzRead(f *testing.F) {
	g := volume.Geometry{Dims: [3]int{3, 2, 2}, Spacing: [3]float64{1, 2, 3}, Direction: volume.Identity()}
	for _, enc := range []string{"raw", "gzip"} {
		v := volume.New(g, volume.Int16)
		for i := range v.Data {
			v.Data[i] = float32(i)
		}
		p := filepath.Join(f.TempDir(), "s.nrrd")
		if err := WriteWith(p, v, WriteOptions{Encoding: enc}); err != nil {
			f.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		f.Add(b)
		f.Add(b[:len(b)-4])
	}
	f.Add([]byte("NRRD0004\ntype: uchar\ndimension: 4\nsizes: 2 2 1 1\nencoding: ascii\nkinds: list domain domain domain\n\n1 2 3 4"))
	f.Add([]byte("NRRD0004\ntype: short\ndimension: 3\nsizes: 2 1 1\nendian: big\nencoding: raw\nspace: RAS\nspace directions: (1,0,0) (0,1,0) (0,0,1)\nspace origin: (1,2,3)\nbyte skip: -1\n\nabcd"))
	f.Add([]byte("NRRD0004\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "f.nrrd")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		v, err := Read(p, Options{PickVolume: true, Volume: 1})
		if err == nil {
			if err := v.Check(); err != nil {
				t.Fatalf("invalid volume: %v", err)
			}
		}
		v, err = Read(p, Options{})
		if err == nil {
			if err := v.Check(); err != nil {
				t.Fatalf("invalid volume: %v", err)
			}
		}
	})
}
