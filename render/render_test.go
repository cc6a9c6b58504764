package render

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/otoseg/otoseg/ear"

	"github.com/otoseg/otoseg/volume"
)

// cube makes an image with a bright ball at the centre and a label on it.
func cube(dims [3]int, sp [3]float64) (*volume.Volume, *volume.Volume) {
	g := volume.NewGeometry(dims, sp)
	img := volume.New(g, volume.Int16)
	lab := volume.New(g, volume.Uint8)
	c := [3]float64{float64(dims[0]-1) / 2 * sp[0], float64(dims[1]-1) / 2 * sp[1], float64(dims[2]-1) / 2 * sp[2]}
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			for i := 0; i < dims[0]; i++ {
				d := math.Sqrt(math.Pow(float64(i)*sp[0]-c[0], 2) + math.Pow(float64(j)*sp[1]-c[1], 2) + math.Pow(float64(k)*sp[2]-c[2], 2))
				v := float32(-1000)
				if d < 5 {
					v = 2000
					lab.Set(i, j, k, 1)
				}
				if d < 2 {
					lab.Set(i, j, k, 3)
				}
				img.Set(i, j, k, v)
			}
		}
	}
	return img, lab
}

// TestAspect checks that panels keep millimetres square: a volume twice as
// long in z (mm) gives coronal panels twice as tall as wide.
func TestAspect(t *testing.T) {
	img, lab := cube([3]int{40, 40, 20}, [3]float64{0.5, 0.5, 2})
	_ = lab
	out, err := SlicesWith(img, nil, [3]int{20, 20, 10}, BoneWindow, Options{PixelMM: 0.5, NoCaptions: true})
	if err != nil {
		t.Fatal(err)
	}
	b := out.Bounds()
	// axial 20x20 mm = 40x40 px; coronal 20 mm x 40 mm = 40x80; sagittal 40x80
	if b.Dx() != 40*3+2*4 || b.Dy() != 80 {
		t.Fatalf("picture %v, want %dx80", b, 40*3+8)
	}
	// the ball is round in the coronal panel: its bright extent is the
	// same across and down
	rgba := out.(*image.RGBA)
	var w, h int
	for x := 44; x < 84; x++ {
		if r, _, _, _ := rgba.At(x, 40).RGBA(); r > 0x8000 {
			w++
		}
	}
	for y := 0; y < 80; y++ {
		if r, _, _, _ := rgba.At(64, y).RGBA(); r > 0x8000 {
			h++
		}
	}
	// within one 2-mm voxel (4 px) of round
	if w < 16 || math.Abs(float64(w-h)) > 4 {
		t.Errorf("ball %d px wide and %d px tall in the coronal panel, want round", w, h)
	}
}

// TestOutlines checks that label boundaries are drawn in their colours and
// label interiors keep the grey image.
func TestOutlines(t *testing.T) {
	img, lab := cube([3]int{32, 32, 32}, [3]float64{0.5, 0.5, 0.5})
	out := Slices(img, lab, [3]int{16, 16, 16}, BoneWindow)
	count := map[color.RGBA]int{}
	b := out.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			count[out.At(x, y).(color.RGBA)]++
		}
	}
	rgba := func(l ear.Label) color.RGBA { c := ear.Colour(int(l)); return color.RGBA{c.R, c.G, c.B, 255} }
	if count[rgba(ear.Cochlea)] == 0 || count[rgba(ear.Canals)] == 0 {
		t.Errorf("outline colours missing: %d cochlea, %d canals", count[rgba(ear.Cochlea)], count[rgba(ear.Canals)])
	}
	grey := color.RGBA{BoneWindow.Grey(2000), BoneWindow.Grey(2000), BoneWindow.Grey(2000), 255}
	if count[grey] == 0 {
		t.Error("no interior grey left inside the labels")
	}
	// without a label no colour appears
	out = Slices(img, nil, [3]int{16, 16, 16}, BoneWindow)
	if rgba, ok := out.(*image.RGBA); ok {
		for i := 0; i+3 < len(rgba.Pix); i += 4 {
			p := rgba.Pix[i : i+3]
			if (p[0] != p[1] || p[1] != p[2]) && !(p[0] == 255 && p[1] == 255 && p[2] == 160) {
				t.Fatal("colour without a label")
			}
		}
	}
}

func TestWindow(t *testing.T) {
	for _, c := range []struct {
		hu   float64
		want uint8
	}{{-1000, 0}, {-2000, 0}, {3000, 255}, {5000, 255}, {1000, 128}, {math.NaN(), 0}} {
		if got := BoneWindow.Grey(c.hu); got != c.want {
			t.Errorf("BoneWindow.Grey(%g) = %d, want %d", c.hu, got, c.want)
		}
	}
}

func TestErrors(t *testing.T) {
	img, lab := cube([3]int{8, 8, 8}, [3]float64{1, 1, 1})
	other, _ := cube([3]int{8, 8, 9}, [3]float64{1, 1, 1})
	if _, err := SlicesWith(img, other, [3]int{1, 1, 1}, BoneWindow, Options{}); err == nil {
		t.Error("label on another grid accepted")
	}
	if _, err := SlicesWith(img, lab, [3]int{8, 1, 1}, BoneWindow, Options{}); err == nil {
		t.Error("centre outside accepted")
	}
	if _, err := SlicesWith(img, lab, [3]int{1, 1, 1}, Window{}, Options{}); err == nil {
		t.Error("zero window accepted")
	}
	if _, err := SlicesWith(img, lab, [3]int{1, 1, 1}, BoneWindow, Options{PixelMM: 1e-5}); err == nil {
		t.Error("huge picture accepted")
	}
}

// TestWritePNG writes atomically: the file decodes, and no temporary file
// remains, also after a failure.
func TestWritePNG(t *testing.T) {
	dir := t.TempDir()
	img, lab := cube([3]int{16, 16, 16}, [3]float64{1, 1, 1})
	p := filepath.Join(dir, "s.png")
	if err := WritePNG(p, Slices(img, lab, [3]int{8, 8, 8}, BoneWindow)); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := WritePNG(filepath.Join(dir, "missing", "s.png"), Slices(img, lab, [3]int{8, 8, 8}, BoneWindow)); err == nil {
		t.Error("write into a missing directory succeeded")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only s.png", len(ents))
	}
}
