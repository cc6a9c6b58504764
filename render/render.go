// Package render draws orthogonal slices of a CT volume as a picture, with
// label outlines, so that a person can look at an image, a phantom or a
// segmentation. The demo, the review app and the report share it.
//
// Panels are drawn in voxel index space with physically correct aspect
// ratios: a pixel of the picture covers the same millimetres in both
// directions whatever the voxel spacing. Axial panels put index i (patient
// left for an LPS grid) to the right and j (posterior) down, the
// radiological convention; coronal and sagittal panels put superior up.
package render

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"

	"github.com/otoseg/otoseg/ear"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/otoseg/otoseg/internal/atomicfile"
	"github.com/otoseg/otoseg/volume"
)

// Window maps HU to grey: Level-Width/2 is black, Level+Width/2 white.
type Window struct {
	Width, Level float64
}

// Standard windows.
var (
	BoneWindow  = Window{Width: 4000, Level: 1000}
	SoftWindow  = Window{Width: 400, Level: 40}
	BrainWindow = Window{Width: 80, Level: 40}
)

// Options tune Slices.
type Options struct {
	// FieldMM, if > 0, crops each panel to a square of this many mm around
	// the centre; 0 shows whole slices.
	FieldMM float64
	// PixelMM is the size of a picture pixel in mm; 0 picks one so the
	// largest panel is about PanelPixels wide.
	PixelMM float64
	// PanelPixels is the target panel size when PixelMM is 0 (default 320).
	PanelPixels int
	// NoCaptions leaves out the panel captions.
	NoCaptions bool
	// Title is printed above the panels when set.
	Title string
}

// Slices renders the axial, coronal and sagittal slices through voxel
// centre side by side, with the outlines of label (may be nil; it must be
// on img's grid) in package ear's label colours.
func Slices(img, label *volume.Volume, centre [3]int, win Window) image.Image {
	out, _ := SlicesWith(img, label, centre, win, Options{})
	return out
}

// panel describes one slice orientation: which volume axes run across (u)
// and down (v), and whether v is flipped (superior up).
type panel struct {
	name  string
	u, v  int
	fixed int
	flipV bool
}

var panels = []panel{
	{"axial", 0, 1, 2, false},
	{"coronal", 0, 2, 1, true},
	{"sagittal", 1, 2, 0, true},
}

// SlicesWith is Slices with options; it reports a label on another grid
// or a centre outside the volume.
func SlicesWith(img, label *volume.Volume, centre [3]int, win Window, opt Options) (image.Image, error) {
	if img == nil || img.Len() == 0 || len(img.Data) != img.Len() {
		return nil, fmt.Errorf("render: empty image")
	}
	if label != nil && (label.Dims != img.Dims || len(label.Data) != label.Len()) {
		return nil, fmt.Errorf("render: label grid %v differs from image grid %v", label.Dims, img.Dims)
	}
	for a := 0; a < 3; a++ {
		if centre[a] < 0 || centre[a] >= img.Dims[a] {
			return nil, fmt.Errorf("render: centre %v outside volume %v", centre, img.Dims)
		}
	}
	if !(win.Width > 0) {
		return nil, fmt.Errorf("render: window width %g, want > 0", win.Width)
	}
	sp := img.Spacing
	// extent in mm of each axis shown
	lo, hi := [3]float64{}, [3]float64{}
	for a := 0; a < 3; a++ {
		lo[a], hi[a] = -0.5*sp[a], (float64(img.Dims[a])-0.5)*sp[a]
		if opt.FieldMM > 0 {
			c := float64(centre[a]) * sp[a]
			lo[a] = math.Max(lo[a], c-opt.FieldMM/2)
			hi[a] = math.Min(hi[a], c+opt.FieldMM/2)
		}
	}
	px := opt.PixelMM
	if px <= 0 {
		target := opt.PanelPixels
		if target <= 0 {
			target = 320
		}
		var big float64
		for a := 0; a < 3; a++ {
			big = math.Max(big, hi[a]-lo[a])
		}
		px = big / float64(target)
	}
	sizes := make([]image.Point, len(panels))
	W, H := 0, 0
	for n, p := range panels {
		w := int(math.Ceil((hi[p.u] - lo[p.u]) / px))
		h := int(math.Ceil((hi[p.v] - lo[p.v]) / px))
		if w < 1 {
			w = 1
		}
		if h < 1 {
			h = 1
		}
		if w*h > 1<<24 {
			return nil, fmt.Errorf("render: panel of %dx%d pixels is too large; raise PixelMM", w, h)
		}
		sizes[n] = image.Point{w, h}
		W += w
		H = max(H, h)
	}
	gap := 4
	capH := 0
	if !opt.NoCaptions {
		capH = 16
	}
	top := 0
	if opt.Title != "" {
		top = 16
	}
	W += gap * (len(panels) - 1)
	out := image.NewRGBA(image.Rect(0, 0, W, H+capH+top))
	draw.Draw(out, out.Bounds(), image.NewUniform(color.RGBA{0, 0, 0, 255}), image.Point{}, draw.Src)
	x0 := 0
	for n, p := range panels {
		sz := sizes[n]
		grey := make([]uint8, sz.X*sz.Y)
		labs := make([]uint8, sz.X*sz.Y)
		for y := 0; y < sz.Y; y++ {
			mv := lo[p.v] + (float64(y)+0.5)*px
			if p.flipV {
				mv = hi[p.v] - (float64(y)+0.5)*px
			}
			iv := clampIdx(int(math.Round(mv/sp[p.v])), img.Dims[p.v])
			for x := 0; x < sz.X; x++ {
				mu := lo[p.u] + (float64(x)+0.5)*px
				iu := clampIdx(int(math.Round(mu/sp[p.u])), img.Dims[p.u])
				var ijk [3]int
				ijk[p.u], ijk[p.v], ijk[p.fixed] = iu, iv, centre[p.fixed]
				idx := img.Index(ijk[0], ijk[1], ijk[2])
				grey[y*sz.X+x] = win.Grey(float64(img.Data[idx]))
				if label != nil {
					l := label.Data[idx]
					if l > 0 && l < 256 {
						labs[y*sz.X+x] = uint8(l)
					}
				}
			}
		}
		for y := 0; y < sz.Y; y++ {
			for x := 0; x < sz.X; x++ {
				g := grey[y*sz.X+x]
				c := color.RGBA{g, g, g, 255}
				if l := labs[y*sz.X+x]; l > 0 && edge(labs, sz, x, y) {
					n := ear.Colour(int(l))
					c = color.RGBA{n.R, n.G, n.B, 255}
				}
				out.SetRGBA(x0+x, top+y, c)
			}
		}
		if !opt.NoCaptions {
			caption(out, x0+2, top+H+12, fmt.Sprintf("%s %d", p.name, centre[p.fixed]))
		}
		x0 += sz.X + gap
	}
	if opt.Title != "" {
		caption(out, 2, 12, opt.Title)
	}
	return out, nil
}

// edge reports whether pixel (x, y) of a label raster borders a different
// label (4-neighbourhood), so only outlines are drawn.
func edge(labs []uint8, sz image.Point, x, y int) bool {
	l := labs[y*sz.X+x]
	for _, d := range [4][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
		xx, yy := x+d[0], y+d[1]
		if xx < 0 || yy < 0 || xx >= sz.X || yy >= sz.Y {
			return true
		}
		if labs[yy*sz.X+xx] != l {
			return true
		}
	}
	return false
}

func clampIdx(i, n int) int {
	if i < 0 {
		return 0
	}
	if i >= n {
		return n - 1
	}
	return i
}

// Grey is the grey level of value hu through the window: 0 at or below
// Level-Width/2 (and for NaN), 255 at or above Level+Width/2, rounded to
// the nearest level between.
func (w Window) Grey(hu float64) uint8 {
	f := (hu - (w.Level - w.Width/2)) / w.Width
	if f <= 0 || math.IsNaN(f) {
		return 0
	}
	if f >= 1 {
		return 255
	}
	return uint8(f*255 + 0.5)
}

func caption(dst *image.RGBA, x, y int, s string) {
	d := font.Drawer{
		Dst:  dst,
		Src:  image.NewUniform(color.RGBA{255, 255, 160, 255}),
		Face: basicfont.Face7x13,
		Dot:  fixed.P(x, y),
	}
	d.DrawString(s)
}

// WritePNG writes img to path as PNG atomically: it writes a temporary file
// in the same directory and renames it, so readers never see half a file.
func WritePNG(path string, img image.Image) error {
	return atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, img) })
}
