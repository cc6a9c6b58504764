package study

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"

	"github.com/otoseg/otoseg/metrics"
	"github.com/otoseg/otoseg/volume"
)

// Agreement-map colours of the case pictures.
var (
	picBoth = color.RGBA{R: 0xd8, G: 0xd8, B: 0xd8, A: 0xff} // reference and prediction
	picRef  = color.RGBA{R: 0x1a, G: 0xa0, B: 0x3a, A: 0xff} // reference only: missed
	picPred = color.RGBA{R: 0xd0, G: 0x20, B: 0xc0, A: 0xff} // prediction only: false positive
	picBg   = color.RGBA{R: 0x18, G: 0x18, B: 0x18, A: 0xff}
	picGap  = color.RGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff}
)

const (
	picFieldMM = 24.0 // side of each panel, mm
	picPixels  = 150  // side of each panel, pixels
	picGapPx   = 4
)

// earPictures draws, for every ear of a case, an agreement map of the
// labyrinth (labels > 0) on three orthogonal planes through the centroid of
// the reference labyrinth of that ear: grey where both masks agree, green
// where only the reference has it (missed), magenta where only the
// prediction has it (false positive). Panels are 24 mm wide, sampled in mm,
// so anisotropic voxels keep their true shape; the planes are the voxel
// planes k (axial), j (coronal) and i (sagittal) of the file, not reoriented.
// They are made while both volumes are in memory, so choosing the worst
// cases later costs no second read.
func earPictures(ref, pred *volume.Volume, ears metrics.Ears) map[string][]byte {
	out := map[string][]byte{}
	for _, ear := range ears.Present {
		var sum [3]float64
		n := 0
		idx := 0
		for k := 0; k < ref.Dims[2]; k++ {
			for j := 0; j < ref.Dims[1]; j++ {
				for i := 0; i < ref.Dims[0]; i++ {
					if ref.Data[idx] > 0 {
						if !ears.Split || (ref.World(float64(i), float64(j), float64(k))[0] > ears.PlaneX) == (ear == metrics.EarLeft) {
							sum[0] += float64(i)
							sum[1] += float64(j)
							sum[2] += float64(k)
							n++
						}
					}
					idx++
				}
			}
		}
		if n == 0 {
			continue
		}
		c := [3]int{}
		for a := 0; a < 3; a++ {
			c[a] = int(math.Round(sum[a] / float64(n)))
		}
		if b, err := agreementPNG(ref, pred, c); err == nil {
			out[ear] = b
		}
	}
	return out
}

// agreementPNG renders the three panels through voxel c.
func agreementPNG(ref, pred *volume.Volume, c [3]int) ([]byte, error) {
	w := 3*picPixels + 2*picGapPx
	img := image.NewRGBA(image.Rect(0, 0, w, picPixels))
	for p := range img.Pix {
		img.Pix[p] = 0xff
	}
	// Panel axes: (horizontal, vertical) voxel axes; the third is fixed.
	panels := [3][2]int{{0, 1}, {0, 2}, {1, 2}}
	step := picFieldMM / picPixels
	for pi, ax := range panels {
		x0 := pi * (picPixels + picGapPx)
		for v := 0; v < picPixels; v++ {
			for u := 0; u < picPixels; u++ {
				idx := c
				// Offsets in mm from the centre; vertical axis drawn upwards.
				du := (float64(u) - picPixels/2 + 0.5) * step
				dv := (picPixels/2 - float64(v) - 0.5) * step
				idx[ax[0]] = c[ax[0]] + int(math.Round(du/ref.Spacing[ax[0]]))
				idx[ax[1]] = c[ax[1]] + int(math.Round(dv/ref.Spacing[ax[1]]))
				col := picGap
				if idx[0] >= 0 && idx[1] >= 0 && idx[2] >= 0 && idx[0] < ref.Dims[0] && idx[1] < ref.Dims[1] && idx[2] < ref.Dims[2] {
					p := ref.Index(idx[0], idx[1], idx[2])
					r, q := ref.Data[p] > 0, pred.Data[p] > 0
					switch {
					case r && q:
						col = picBoth
					case r:
						col = picRef
					case q:
						col = picPred
					default:
						col = picBg
					}
				}
				img.SetRGBA(x0+u, v, col)
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
