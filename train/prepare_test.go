package train

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/dataset"
	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/volume"
)

// A training pair must share one grid and hold only known labels; the
// errors name the case and the file.
func TestReadPairValidates(t *testing.T) {
	dir := t.TempDir()
	g := volume.NewGeometry([3]int{8, 8, 4}, [3]float64{0.5, 0.5, 1})
	write := func(name string, v *volume.Volume) string {
		p := filepath.Join(dir, name)
		if err := imageio.Write(p, v); err != nil {
			t.Fatal(err)
		}
		return p
	}
	img := write("img.nii.gz", volume.New(g, volume.Int16))
	good := volume.New(g, volume.Uint8)
	good.Set(3, 3, 2, 2)
	bad := volume.New(g, volume.Uint8)
	bad.Set(1, 1, 1, 7)
	shifted := volume.New(g, volume.Uint8)
	shifted.Origin = [3]float64{5, 0, 0}
	other := volume.New(volume.NewGeometry([3]int{8, 8, 5}, [3]float64{0.5, 0.5, 1}), volume.Uint8)
	tests := []struct {
		name, label, want string
	}{
		{"ok", write("good.nii.gz", good), ""},
		{"unknown label", write("bad.nii.gz", bad), "value 7"},
		{"shifted grid", write("shifted.nii.gz", shifted), "affine"},
		{"other dims", write("other.nii.gz", other), "dims"},
		{"missing file", filepath.Join(dir, "none.nii.gz"), "none.nii.gz"},
	}
	for _, tt := range tests {
		_, _, err := readPair(dataset.Case{ID: "c1", Image: img, Label: tt.label})
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "c1")):
			t.Errorf("%s: err = %v, want one naming case c1 and %q", tt.name, err, tt.want)
		}
	}
}
