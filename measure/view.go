package measure

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/otoseg/otoseg/ear"
	"github.com/otoseg/otoseg/render"
	"github.com/otoseg/otoseg/volume"
)

// ViewOptions tune the cochlear-view picture.
type ViewOptions struct {
	// FieldMM is the square shown around the modiolar axis (0: 12 mm).
	FieldMM float64
	// Pixels is the picture's width and height of the field (0: 480).
	Pixels int
	// Window maps the CT's HU to grey (zero: the bone window).
	Window render.Window
	// Title is printed above the view.
	Title string
}

// ErrNoView is returned for an ear whose cochlea could not be traced: it
// has no cochlear view.
var ErrNoView = errors.New("no cochlear view: the cochlea was not traced")

// CochlearView draws ear e's cochlear view: the plane through the basal
// turn perpendicular to the modiolar axis, round window to the right,
// reformatted from img (the CT; nil draws the labels as grey levels), with
// the label outlines, the A line (yellow) and B line (cyan) through the
// modiolus, the traced lateral wall (orange, projected onto the plane) and
// the figures. lab is the label map e was measured on.
func CochlearView(lab, img *volume.Volume, e *Ear, o ViewOptions) (image.Image, error) {
	sp := e.trace
	if sp == nil || e.Cochlea == nil {
		return nil, ErrNoView
	}
	if o.FieldMM <= 0 {
		o.FieldMM = 13
	}
	if o.Pixels <= 0 {
		o.Pixels = 480
	}
	if o.Window == (render.Window{}) {
		o.Window = render.BoneWindow
	}
	const top, bottom = 18, 48
	n := o.Pixels
	px := o.FieldMM / float64(n)
	// centre the view on the middle of the A and B lines: the basal turn
	// is wider than the rest, so the modiolus sits off the cochlea's middle
	a0, okA0 := sp.wallAt(0, 20)
	a1, okA1 := sp.wallAt(math.Pi, 15)
	b0, okB0 := sp.wallAt(math.Pi/2, 15)
	b1, okB1 := sp.wallAt(3*math.Pi/2, 15)
	var cu, cv float64
	if okA0 && okA1 {
		cu = (a0 - a1) / 2
	}
	if okB0 && okB1 {
		cv = (b0 - b1) / 2
	}
	origin := sp.c.add(sp.d.scale(sp.h0))
	// picture x along e0 (to the round window), picture y down along -e1
	toWorld := func(x, y int) vec {
		u := cu + (float64(x)+0.5-float64(n)/2)*px
		v := cv - (float64(y)+0.5-float64(n)/2)*px
		return origin.add(sp.e0.scale(u)).add(sp.e1.scale(v))
	}
	toPix := func(u, v float64) (float64, float64) { return (u-cu)/px + float64(n)/2, -(v-cv)/px + float64(n)/2 }
	out := image.NewRGBA(image.Rect(0, 0, n, n+top+bottom))
	labs := make([]uint8, n*n)
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			w := toWorld(x, y)
			labs[y*n+x] = smoothLabel(lab, w)
			var g uint8
			if img != nil {
				g = windowed(sample(img, w), o.Window)
			} else {
				g = [4]uint8{0, 200, 140, 90}[labs[y*n+x]]
			}
			out.Set(x, y+top, color.RGBA{g, g, g, 255})
		}
	}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			if l := labs[y*n+x]; l > 0 && border(labs, n, x, y) {
				out.Set(x, y+top, ear.Colour(int(l)))
			}
		}
	}
	// traced lateral wall, projected onto the view; where the turns were
	// withheld (a cystic apex, a hypoplastic cochlea) only the basal turn
	// the A and B values rest on
	lw := sp.lateralWall()
	orange := color.RGBA{255, 150, 0, 255}
	end := sp.phiEnd
	if e.CDLLateralWall == nil {
		end = min(end, 2*math.Pi)
	}
	var px0, py0 float64
	for phi, first := 0.0, true; phi <= end; phi += binW / 4 {
		i := min(len(lw)-1, int(phi/binW))
		if math.IsNaN(lw[i]) {
			first = true
			continue
		}
		x, y := toPix(lw[i]*math.Cos(phi), lw[i]*math.Sin(phi))
		if !first {
			line(out, px0, py0+top, x, y+top, orange)
		}
		px0, py0, first = x, y, false
	}
	if okA0 && okA1 {
		x0, y0 := toPix(a0, 0)
		x1, y1 := toPix(-a1, 0)
		line(out, x0, y0+top, x1, y1+top, color.RGBA{255, 255, 0, 255})
	}
	if okB0 && okB1 {
		x0, y0 := toPix(0, b0)
		x1, y1 := toPix(0, -b1)
		line(out, x0, y0+top, x1, y1+top, color.RGBA{0, 230, 255, 255})
	}
	title := o.Title
	if title == "" {
		title = e.Side + " ear: cochlear view (perpendicular to the modiolar axis)"
	}
	text(out, 4, 13, title, color.RGBA{255, 255, 160, 255})
	text(out, 4, n+top+15, fmt.Sprintf("A %s (yellow)  B %s (cyan)  height %s  %s turns", fmtMM(e.AValue), fmtMM(e.BValue), fmtMM(e.Height), fmtNum(e.Turns)), color.RGBA{255, 255, 160, 255})
	caption := fmt.Sprintf("CDL lateral wall %s traced (orange), organ of Corti %s", fmtMM(e.CDLLateralWall), fmtMM(e.CDLOrganOfCorti))
	if e.CDLLateralWall == nil {
		caption = "CDL not measured (see warnings); orange: the basal turn only"
	}
	text(out, 4, n+top+31, caption, color.RGBA{255, 255, 160, 255})
	text(out, 4, n+top+45, fmt.Sprintf("%.0f mm field, round window to the right", o.FieldMM), color.RGBA{200, 200, 200, 255})
	return out, nil
}

func fmtMM(p *float64) string {
	if p == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.2f mm", *p)
}

func fmtNum(p *float64) string {
	if p == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", *p)
}

// smoothLabel is the label at w on the labels' smooth boundary: each
// label's indicator is interpolated trilinearly and the largest wins where
// it reaches one half. Nearest-voxel labels on an oblique plane would be
// outlined as staircases.
func smoothLabel(v *volume.Volume, w vec) uint8 {
	ci := v.ContinuousIndex(w)
	var base [3]int
	var f [3]float64
	for a := 0; a < 3; a++ {
		if ci[a] < 0 || ci[a] > float64(v.Dims[a]-1) {
			return 0
		}
		base[a] = min(int(ci[a]), max(0, v.Dims[a]-2))
		f[a] = ci[a] - float64(base[a])
		if v.Dims[a] == 1 {
			base[a], f[a] = 0, 0
		}
	}
	var wl [4]float64
	corners(v, base, f, func(x float32, wt float64) {
		if l := int(x); l >= 1 && l <= 3 {
			wl[l] += wt
		}
	})
	best := 0
	for l := 1; l <= 3; l++ {
		if wl[l] >= 0.5 && (best == 0 || wl[l] > wl[best]) {
			best = l
		}
	}
	return uint8(best)
}

// sample interpolates v trilinearly at w (the nearest edge value outside).
func sample(v *volume.Volume, w vec) float64 {
	ci := v.ContinuousIndex(w)
	var base [3]int
	var f [3]float64
	for a := 0; a < 3; a++ {
		x := math.Max(0, math.Min(float64(v.Dims[a]-1), ci[a]))
		base[a] = min(int(x), max(0, v.Dims[a]-2))
		f[a] = x - float64(base[a])
		if v.Dims[a] == 1 {
			base[a], f[a] = 0, 0
		}
	}
	var s float64
	corners(v, base, f, func(x float32, wt float64) {
		if wt != 0 {
			s += wt * float64(x)
		}
	})
	return s
}

// corners calls visit with the value and trilinear weight of each of the 8
// voxels around base (fractions f along each axis), clamped to v.
func corners(v *volume.Volume, base [3]int, f [3]float64, visit func(x float32, wt float64)) {
	for q := 0; q < 8; q++ {
		wt := 1.0
		var idx [3]int
		for a := 0; a < 3; a++ {
			bit := q >> a & 1
			idx[a] = min(base[a]+bit, v.Dims[a]-1)
			if bit == 1 {
				wt *= f[a]
			} else {
				wt *= 1 - f[a]
			}
		}
		visit(v.At(idx[0], idx[1], idx[2]), wt)
	}
}

func windowed(hu float64, w render.Window) uint8 {
	f := (hu - (w.Level - w.Width/2)) / w.Width
	return uint8(255*math.Max(0, math.Min(1, f)) + 0.5)
}

func border(labs []uint8, n, x, y int) bool {
	l := labs[y*n+x]
	for _, d := range [4][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
		xx, yy := x+d[0], y+d[1]
		if xx < 0 || yy < 0 || xx >= n || yy >= n || labs[yy*n+xx] != l {
			return true
		}
	}
	return false
}

// line draws a line about 1.5 pixels wide.
func line(dst *image.RGBA, x0, y0, x1, y1 float64, c color.RGBA) {
	steps := int(math.Max(math.Abs(x1-x0), math.Abs(y1-y0))*2) + 1
	for s := 0; s <= steps; s++ {
		t := float64(s) / float64(steps)
		x, y := x0+(x1-x0)*t, y0+(y1-y0)*t
		for _, d := range [2][2]float64{{0, 0}, {0.5, 0.5}} {
			dst.Set(int(x+d[0]), int(y+d[1]), c)
		}
	}
}

func text(dst *image.RGBA, x, y int, s string, c color.RGBA) {
	d := font.Drawer{Dst: dst, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}
