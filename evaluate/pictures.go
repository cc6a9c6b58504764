package evaluate

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/otoseg/otoseg/metrics"
	"github.com/otoseg/otoseg/volume"
)

// Agreement-map colours of the case pictures. Over CT they are blended with
// the grey value (picAlpha) so that the bone around the labyrinth stays
// visible; without CT they are drawn opaque on picBg.
var (
	picBoth  = color.RGBA{R: 0x3c, G: 0xa0, B: 0xff, A: 0xff} // reference and prediction
	picRef   = color.RGBA{R: 0x1a, G: 0xd0, B: 0x3a, A: 0xff} // reference only: missed
	picPred  = color.RGBA{R: 0xff, G: 0x20, B: 0xd0, A: 0xff} // prediction only: false positive
	picBg    = color.RGBA{R: 0x18, G: 0x18, B: 0x18, A: 0xff}
	picGap   = color.RGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff}
	picText  = color.RGBA{R: 0x22, G: 0x22, B: 0x22, A: 0xff}
	picLabel = color.RGBA{R: 0xff, G: 0xe0, B: 0x40, A: 0xff} // orientation letters and scale bar
)

const (
	picFieldMM = 24.0 // side of each panel, mm
	picPixels  = 180  // side of each panel, pixels
	picGapPx   = 6
	picTitlePx = 16 // band above the panels for the plane names
	picScaleMM = 5.0
	picAlpha   = 0.55
	// CT window: level 600 HU, width 3200 HU (−1000 to 2200 HU): air black,
	// otic capsule bright, the fluid-filled labyrinth dark inside it.
	picWindowLow, picWindowHigh = -1000.0, 2200.0
)

// plane is one panel of an agreement picture: the LPS directions of its
// horizontal (left to right on screen) and upward axes, in the radiological
// convention (patient's right on the left of axial and coronal panels,
// anterior on the left of the sagittal panel, superior up), and the letters
// at its left, right, top and bottom edges.
type plane struct {
	name                     string
	right, up                [3]float64
	left, rightL, top, lower string
}

// planes are the axial, coronal and sagittal panels. LPS: +x patient left,
// +y posterior, +z superior.
var planes = []plane{
	{"axial", [3]float64{1, 0, 0}, [3]float64{0, -1, 0}, "R", "L", "A", "P"},
	{"coronal", [3]float64{1, 0, 0}, [3]float64{0, 0, 1}, "R", "L", "S", "I"},
	{"sagittal", [3]float64{0, 1, 0}, [3]float64{0, 0, 1}, "A", "P", "S", "I"},
}

// earCentroid is the world (LPS mm) centroid of the reference labyrinth of
// one ear, and whether the ear has reference voxels.
func earCentroid(ref *volume.Volume, ears metrics.Ears, ear string) ([3]float64, bool) {
	var sum [3]float64
	n := 0
	idx := 0
	for k := 0; k < ref.Dims[2]; k++ {
		for j := 0; j < ref.Dims[1]; j++ {
			for i := 0; i < ref.Dims[0]; i++ {
				if ref.Data[idx] > 0 {
					w := ref.World(float64(i), float64(j), float64(k))
					if !ears.Split || (w[0] > ears.PlaneX) == (ear == metrics.EarLeft) {
						for a := range sum {
							sum[a] += w[a]
						}
						n++
					}
				}
				idx++
			}
		}
	}
	if n == 0 {
		return sum, false
	}
	for a := range sum {
		sum[a] /= float64(n)
	}
	return sum, true
}

// earPicture draws the agreement map of the labyrinth (labels > 0) of one
// ear on the axial, coronal and sagittal planes through the centroid of that
// ear's reference labyrinth, sampled in world mm (so oblique or anisotropic
// grids keep their true shape): blue where both masks have the voxel, green
// where only the reference has it (missed), magenta where only the
// prediction has it (false positive), blended over the CT when ct is not
// nil (bone window), white outside the image. Each panel is 24 mm wide,
// names its plane and its edges (R/L, A/P, S/I), and the first carries a
// 5 mm scale bar: a reader sees where and how large the error is without
// opening the volumes.
func earPicture(ct, ref, pred *volume.Volume, ears metrics.Ears, ear string) ([]byte, error) {
	c, ok := earCentroid(ref, ears, ear)
	if !ok {
		return nil, fmt.Errorf("ear %s has no reference voxels", ear)
	}
	w := 3*picPixels + 2*picGapPx
	img := image.NewRGBA(image.Rect(0, 0, w, picTitlePx+picPixels))
	for p := range img.Pix {
		img.Pix[p] = 0xff
	}
	for pi, pl := range planes {
		x0 := pi * (picPixels + picGapPx)
		drawPanel(img, x0, picTitlePx, ct, ref, pred, c, pl)
		drawText(img, x0+picPixels/2-len(pl.name)*7/2, 12, pl.name, picText)
		drawEdgeLetters(img, x0, picTitlePx, pl)
	}
	drawScaleBar(img, 8, picTitlePx+picPixels-10)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// drawPanel fills one panel with the CT (or picBg) and the agreement colours.
func drawPanel(img *image.RGBA, x0, y0 int, ct, ref, pred *volume.Volume, c [3]float64, pl plane) {
	step := picFieldMM / picPixels
	for v := 0; v < picPixels; v++ {
		for u := 0; u < picPixels; u++ {
			du := (float64(u) - picPixels/2 + 0.5) * step
			dv := (picPixels/2 - float64(v) - 0.5) * step
			var wp [3]float64
			for a := range wp {
				wp[a] = c[a] + du*pl.right[a] + dv*pl.up[a]
			}
			img.SetRGBA(x0+u, y0+v, pixelAt(ct, ref, pred, wp))
		}
	}
}

// pixelAt is the colour of world point wp: white outside the label grid,
// else the CT grey (or picBg) under the agreement colour of the voxel.
func pixelAt(ct, ref, pred *volume.Volume, wp [3]float64) color.RGBA {
	ci := ref.ContinuousIndex(wp)
	var idx [3]int
	for a := range idx {
		idx[a] = int(math.Round(ci[a]))
		if idx[a] < 0 || idx[a] >= ref.Dims[a] {
			return picGap
		}
	}
	p := ref.Index(idx[0], idx[1], idx[2])
	r, q := ref.Data[p] > 0, pred.Data[p] > 0
	base, alpha := picBg, 1.0
	if ct != nil {
		if hu, ok := trilinear(ct, wp); ok {
			g := uint8(math.Round(255 * math.Max(0, math.Min(1, (hu-picWindowLow)/(picWindowHigh-picWindowLow)))))
			base, alpha = color.RGBA{R: g, G: g, B: g, A: 0xff}, picAlpha
		}
	}
	switch {
	case r && q:
		return blend(base, picBoth, alpha)
	case r:
		return blend(base, picRef, alpha)
	case q:
		return blend(base, picPred, alpha)
	}
	return base
}

func blend(base, over color.RGBA, alpha float64) color.RGBA {
	mix := func(a, b uint8) uint8 { return uint8(math.Round((1-alpha)*float64(a) + alpha*float64(b))) }
	return color.RGBA{R: mix(base.R, over.R), G: mix(base.G, over.G), B: mix(base.B, over.B), A: 0xff}
}

// trilinear samples v at world point w; false outside the grid.
func trilinear(v *volume.Volume, w [3]float64) (float64, bool) {
	ci := v.ContinuousIndex(w)
	var i0 [3]int
	var f [3]float64
	for a := range ci {
		if ci[a] < -0.5 || ci[a] > float64(v.Dims[a])-0.5 {
			return 0, false
		}
		x := math.Max(0, math.Min(ci[a], float64(v.Dims[a]-1)))
		i0[a] = min(int(math.Floor(x)), v.Dims[a]-2)
		if v.Dims[a] == 1 {
			i0[a] = 0
		}
		f[a] = x - float64(i0[a])
	}
	var s float64
	for dz := 0; dz < 2; dz++ {
		for dy := 0; dy < 2; dy++ {
			for dx := 0; dx < 2; dx++ {
				i, j, k := min(i0[0]+dx, v.Dims[0]-1), min(i0[1]+dy, v.Dims[1]-1), min(i0[2]+dz, v.Dims[2]-1)
				wt := lerpW(f[0], dx) * lerpW(f[1], dy) * lerpW(f[2], dz)
				if wt != 0 {
					s += wt * float64(v.At(i, j, k))
				}
			}
		}
	}
	return s, true
}

func lerpW(f float64, d int) float64 {
	if d == 0 {
		return 1 - f
	}
	return f
}

// drawEdgeLetters writes the anatomical direction at each edge of a panel.
func drawEdgeLetters(img *image.RGBA, x0, y0 int, pl plane) {
	mid := picPixels / 2
	drawOutlined(img, x0+3, y0+mid+4, pl.left)
	drawOutlined(img, x0+picPixels-10, y0+mid+4, pl.rightL)
	drawOutlined(img, x0+mid-3, y0+13, pl.top)
	drawOutlined(img, x0+mid-3, y0+picPixels-4, pl.lower)
}

// drawScaleBar draws a picScaleMM bar with its label, bottom-left at (x, y).
func drawScaleBar(img *image.RGBA, x, y int) {
	n := int(math.Round(picScaleMM / (picFieldMM / picPixels)))
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= n; dx++ {
			img.SetRGBA(x+dx, y+dy+1, color.RGBA{A: 0xff})
		}
	}
	for i := 0; i < n; i++ {
		img.SetRGBA(x+i, y+1, picLabel)
	}
	drawOutlined(img, x, y-4, fmt.Sprintf("%g mm", picScaleMM))
}

// drawOutlined writes s in picLabel with a black outline, legible on bone
// and on air alike.
func drawOutlined(img *image.RGBA, x, y int, s string) {
	for _, d := range [][2]int{{-1, 0}, {1, 0}, {0, -1}, {0, 1}} {
		drawText(img, x+d[0], y+d[1], s, color.RGBA{A: 0xff})
	}
	drawText(img, x, y, s, picLabel)
}

// drawText writes s with its baseline at y in the 7×13 bitmap font.
func drawText(img *image.RGBA, x, y int, s string, c color.RGBA) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}
