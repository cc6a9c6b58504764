package metaimage

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/otoseg/otoseg/volume"
)

// FuzzRead feeds arbitrary bytes to the MetaImage reader: a valid volume or
// an error, never a panic or a hang.
func FuzzRead(f *testing.F) {
	g := volume.Geometry{Dims: [3]int{3, 2, 2}, Spacing: [3]float64{1, 2, 3}, Direction: volume.Identity()}
	for _, compress := range []bool{false, true} {
		v := volume.New(g, volume.Int16)
		for i := range v.Data {
			v.Data[i] = float32(i)
		}
		p := filepath.Join(f.TempDir(), "s.mha")
		if err := WriteWith(p, v, WriteOptions{Compress: compress}); err != nil {
			f.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		f.Add(b)
		f.Add(b[:len(b)-4])
	}
	f.Add([]byte("NDims = 4\nDimSize = 1 1 1 2\nElementType = MET_UCHAR\nHeaderSize = -1\nElementDataFile = LOCAL\nxy"))
	f.Add([]byte("ObjectType = Image\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "f.mha")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, opt := range []Options{{}, {PickVolume: true, Volume: 1}} {
			v, err := Read(p, opt)
			if err == nil {
				if err := v.Check(); err != nil {
					t.Fatalf("invalid volume: %v", err)
				}
			}
		}
	})
}
