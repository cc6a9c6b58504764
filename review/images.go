package review

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/otoseg/otoseg/render"
)

// parseFloatParam reads query parameter name as a number in [lo, hi], def
// when it is absent.
func parseFloatParam(q url.Values, name string, def, lo, hi float64) (float64, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || f < lo || f > hi {
		return 0, errStatus(http.StatusBadRequest, "%s=%q: want a number in [%g, %g]", name, v, lo, hi)
	}
	return f, nil
}

// handleSlice answers GET /api/cases/{id}/slice: one slice of the CT
// through the asked window (layer=image) or of a blinded segmentation
// (layer=A or B), as PNG.
func (s *Server) handleSlice(w http.ResponseWriter, r *http.Request, a authed) error {
	id, err := s.resolveID(a, r.PathValue("id"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	view, err := ParseView(q.Get("view"))
	if err != nil {
		return errStatus(http.StatusBadRequest, "%v", err)
	}
	index, err := strconv.Atoi(q.Get("index"))
	if err != nil {
		return errStatus(http.StatusBadRequest, "index=%q: want an integer", q.Get("index"))
	}
	layer := q.Get("layer")
	if layer == "" {
		layer = "image"
	}
	width, err := parseFloatParam(q, "window", render.BoneWindow.Width, 1, 100000)
	if err != nil {
		return err
	}
	level, err := parseFloatParam(q, "level", render.BoneWindow.Level, -100000, 100000)
	if err != nil {
		return err
	}
	c, asg, err := s.caseOf(r.Context(), a, id)
	if err != nil {
		return err
	}
	if layer != "image" {
		if _, err := s.sourceOf(asg, layer); err != nil {
			return err
		}
	}
	img, labels, err := s.caseVolumes(r.Context(), c, asg)
	if err != nil {
		return err
	}
	_, _, _, _, n := img.Frame.SliceSize(view)
	if index < 0 || index >= n {
		return errStatus(http.StatusBadRequest, "index %d out of range [0, %d)", index, n)
	}
	var pic image.Image
	if layer == "image" {
		pic, err = ImageSlice(img.Data, img.Frame, view, index, render.Window{Width: width, Level: level})
	} else {
		l := labels[layer]
		pic, err = LabelSlice(l.Labels, l.Frame, view, index, s.palette)
	}
	if err != nil {
		return err
	}
	b, err := s.png.encode(pic)
	if err != nil {
		return fmt.Errorf("slice %s %d: %w", q.Get("view"), index, err)
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_, _ = w.Write(b)
	return nil
}

// ImageSlice is one slice of a CT volume through a window, as 8-bit grey.
func ImageSlice(data []float32, f Frame, v View, index int, win render.Window) (*image.Gray, error) {
	w, h, _, _, _ := f.SliceSize(v)
	img := image.NewGray(image.Rect(0, 0, w, h))
	if err := f.forSlice(v, index, func(p, off int) { img.Pix[p] = win.Grey(float64(data[off])) }); err != nil {
		return nil, err
	}
	return img, nil
}

// LabelSlice is one slice of a label map as a paletted image whose index is
// the label; with ear.Palette label 0 is transparent, so the
// browser draws the slice as a translucent overlay or finds each label's
// outline from its colour.
func LabelSlice(labels []uint8, f Frame, v View, index int, palette color.Palette) (*image.Paletted, error) {
	w, h, _, _, _ := f.SliceSize(v)
	img := image.NewPaletted(image.Rect(0, 0, w, h), palette)
	if err := f.forSlice(v, index, func(p, off int) { img.Pix[p] = labels[off] }); err != nil {
		return nil, err
	}
	return img, nil
}

// pngEncoder encodes slices for the browser: fastest compression, since a
// slice is drawn once and scrolled past, with the compressor's buffers
// reused across requests instead of allocated per slice.
type pngEncoder struct{ enc png.Encoder }

func newPNGEncoder() *pngEncoder {
	return &pngEncoder{enc: png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &bufferPool{}}}
}

func (e *pngEncoder) encode(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := e.enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("png: %w", err)
	}
	return buf.Bytes(), nil
}

// bufferPool is a png.EncoderBufferPool safe for concurrent requests.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() *png.EncoderBuffer {
	e, _ := b.p.Get().(*png.EncoderBuffer)
	return e // nil when empty: the encoder then makes a new one
}

func (b *bufferPool) Put(e *png.EncoderBuffer) { b.p.Put(e) }
