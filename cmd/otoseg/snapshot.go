package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/render"
	"github.com/otoseg/otoseg/volume"
)

// snapshotOptions are the flags of `otoseg snapshot`.
type snapshotOptions struct {
	Image   string
	Label   string
	Out     string
	Centre  string
	FieldMM float64
	PixelMM float64
	Window  string
	Title   string
}

func newSnapshotCmd() *cobra.Command {
	o := &snapshotOptions{}
	cmd := &cobra.Command{
		Use:   "snapshot IMAGE [--label L] -o PNG",
		Short: "render axial, coronal and sagittal slices through the inner ear as a PNG",
		Long: `snapshot draws three orthogonal slices of IMAGE side by side in a bone window
(W 4000 / L 1000 unless --window says otherwise), with the outlines of the
labels in --label (1 cochlea red, 2 vestibule green, 3 canals blue).

The slices cross at --centre i,j,k if given; otherwise at the centre of the
labelled ear (the one with more labelled voxels when both ears are); otherwise,
for a phantom, at the ear its meta/<id>.json sidecar records; otherwise at the
densest cluster of otic-capsule bone. --field crops the panels to a square of
that many mm around the centre (0 shows whole slices). Pixels are square in
millimetres whatever the voxel spacing.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Image = args[0]
			return runSnapshot(o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Label, "label", "", "label map on the image's grid to outline")
	f.StringVarP(&o.Out, "output", "o", "", "output PNG (required)")
	f.StringVar(&o.Centre, "centre", "", "voxel i,j,k where the slices cross")
	f.StringVar(&o.Centre, "center", "", "alias of --centre")
	f.Float64Var(&o.FieldMM, "field", 40, "mm shown around the centre (0: whole slices)")
	f.Float64Var(&o.PixelMM, "pixel", 0, "mm per output pixel (0: about 320 pixels per panel)")
	f.StringVar(&o.Window, "window", "4000,1000", "display window as WIDTH,LEVEL in HU")
	f.StringVar(&o.Title, "title", "", "caption above the panels (default: the image name)")
	cmd.MarkFlagRequired("output")
	return cmd
}

func runSnapshot(o *snapshotOptions, stdout io.Writer) error {
	if o.Out == "" {
		return fmt.Errorf("snapshot: -o PNG is required")
	}
	win, err := parseWindow(o.Window)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	img, err := imageio.Read(o.Image)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	var lab *volume.Volume
	if o.Label != "" {
		if lab, err = imageio.Read(o.Label); err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		if lab.Dims != img.Dims {
			return fmt.Errorf("snapshot: label %s has dimensions %v, image %s has %v", o.Label, lab.Dims, o.Image, img.Dims)
		}
	}
	var c [3]int
	var rows [][3]int // extra rows: per-structure centres when a label is given
	how := ""
	switch {
	case o.Centre != "":
		if c, err = parseIJK(o.Centre); err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		how = "given"
	default:
		var ok bool
		if lab != nil {
			c, ok = labelCentre(lab, 0)
			how = "label"
			// a second row through the vestibule when the first goes through
			// the cochlea: the canals show there
			if cc, ok1 := labelCentre(lab, 1); ok1 {
				if vc, ok2 := labelCentre(lab, 2); ok2 {
					c, rows = cc, [][3]int{vc}
					how = "label: cochlea, then vestibule"
				}
			}
		}
		if !ok {
			c, ok = sidecarCentre(o.Image, img)
			how = "sidecar"
		}
		if !ok {
			c = densestBone(img)
			how = "densest bone"
		}
	}
	for a := 0; a < 3; a++ {
		if c[a] < 0 || c[a] >= img.Dims[a] {
			return fmt.Errorf("snapshot: centre %v outside %s (dimensions %v)", c, o.Image, img.Dims)
		}
	}
	title := o.Title
	if title == "" {
		title = filepath.Base(o.Image)
	}
	pic, err := render.SlicesWith(img, lab, c, win, render.Options{FieldMM: o.FieldMM, PixelMM: o.PixelMM, Title: title})
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	for _, rc := range rows {
		more, err := render.SlicesWith(img, lab, rc, win, render.Options{FieldMM: o.FieldMM, PixelMM: o.PixelMM})
		if err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		pic = stack(pic, more)
	}
	if err := render.WritePNG(o.Out, pic); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s (centre %d,%d,%d from %s)\n", o.Out, c[0], c[1], c[2], how)
	return nil
}

func parseWindow(s string) (render.Window, error) {
	p := strings.Split(strings.ReplaceAll(s, "/", ","), ",")
	if len(p) != 2 {
		return render.Window{}, fmt.Errorf("window %q, want WIDTH,LEVEL", s)
	}
	w, err1 := strconv.ParseFloat(strings.TrimSpace(p[0]), 64)
	l, err2 := strconv.ParseFloat(strings.TrimSpace(p[1]), 64)
	if err1 != nil || err2 != nil || !(w > 0) || math.IsInf(w, 0) || math.IsNaN(l) || math.IsInf(l, 0) {
		return render.Window{}, fmt.Errorf("window %q, want a positive WIDTH and a LEVEL", s)
	}
	return render.Window{Width: w, Level: l}, nil
}

func parseIJK(s string) ([3]int, error) {
	var c [3]int
	p := strings.Split(s, ",")
	if len(p) != 3 {
		return c, fmt.Errorf("centre %q, want i,j,k", s)
	}
	for a := range p {
		v, err := strconv.Atoi(strings.TrimSpace(p[a]))
		if err != nil {
			return c, fmt.Errorf("centre %q, want integers i,j,k", s)
		}
		c[a] = v
	}
	return c, nil
}

// stack puts b under a.
func stack(a, b image.Image) image.Image {
	ab, bb := a.Bounds(), b.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, max(ab.Dx(), bb.Dx()), ab.Dy()+bb.Dy()))
	draw.Draw(out, image.Rect(0, 0, ab.Dx(), ab.Dy()), a, ab.Min, draw.Src)
	draw.Draw(out, image.Rect(0, ab.Dy(), bb.Dx(), ab.Dy()+bb.Dy()), b, bb.Min, draw.Src)
	return out
}

// labelCentre is the centroid of the voxels with label want (any label > 0
// when want is 0); when they span more than 40 mm left to right (two ears)
// only the side with more voxels counts.
func labelCentre(lab *volume.Volume, want int) ([3]int, bool) {
	is := func(v float32) bool {
		if want == 0 {
			return v > 0
		}
		return int(v) == want
	}
	var sum [3]float64
	var n float64
	lo, hi := lab.Dims[0], -1
	for k := 0; k < lab.Dims[2]; k++ {
		for j := 0; j < lab.Dims[1]; j++ {
			for i := 0; i < lab.Dims[0]; i++ {
				if is(lab.Data[lab.Index(i, j, k)]) {
					sum[0] += float64(i)
					sum[1] += float64(j)
					sum[2] += float64(k)
					n++
					lo, hi = min(lo, i), max(hi, i)
				}
			}
		}
	}
	if n == 0 {
		return [3]int{}, false
	}
	if float64(hi-lo)*lab.Spacing[0] > 40 {
		split := sum[0] / n
		var s [2][3]float64
		var m [2]float64
		for k := 0; k < lab.Dims[2]; k++ {
			for j := 0; j < lab.Dims[1]; j++ {
				for i := 0; i < lab.Dims[0]; i++ {
					if is(lab.Data[lab.Index(i, j, k)]) {
						h := 0
						if float64(i) >= split {
							h = 1
						}
						s[h][0] += float64(i)
						s[h][1] += float64(j)
						s[h][2] += float64(k)
						m[h]++
					}
				}
			}
		}
		h := 1
		if m[0] > m[1] {
			h = 0
		}
		sum, n = s[h], m[h]
	}
	return [3]int{int(math.Round(sum[0] / n)), int(math.Round(sum[1] / n)), int(math.Round(sum[2] / n))}, true
}

// sidecarCentre reads DIR/meta/<id>.json next to DIR/images/<id>.nii.gz, as
// otoseg phantom writes them, and returns the first ear in the field.
func sidecarCentre(imagePath string, img *volume.Volume) ([3]int, bool) {
	base := filepath.Base(imagePath)
	id := strings.TrimSuffix(strings.TrimSuffix(base, ".gz"), ".nii")
	p := filepath.Join(filepath.Dir(filepath.Dir(imagePath)), "meta", id+".json")
	b, err := os.ReadFile(p)
	if err != nil || len(b) > 1<<20 {
		return [3]int{}, false
	}
	var m struct {
		Ears []struct {
			InFOV  bool       `json:"in_fov"`
			Centre [3]float64 `json:"labyrinth_centre_world_mm"`
		} `json:"ears"`
	}
	if json.Unmarshal(b, &m) != nil {
		return [3]int{}, false
	}
	for _, e := range m.Ears {
		if !e.InFOV {
			continue
		}
		ci := img.ContinuousIndex(e.Centre)
		c := [3]int{int(math.Round(ci[0])), int(math.Round(ci[1])), int(math.Round(ci[2]))}
		if c[0] >= 0 && c[1] >= 0 && c[2] >= 0 && c[0] < img.Dims[0] && c[1] < img.Dims[1] && c[2] < img.Dims[2] {
			return c, true
		}
	}
	return [3]int{}, false
}

// densestBone finds the ~4 mm cell holding the most voxels in the otic
// capsule's HU range (1700..2800), where the labyrinth sits.
func densestBone(img *volume.Volume) [3]int {
	var cell [3]int
	var nc [3]int
	for a := 0; a < 3; a++ {
		cell[a] = max(1, int(math.Round(4/img.Spacing[a])))
		nc[a] = (img.Dims[a] + cell[a] - 1) / cell[a]
	}
	counts := make([]int, nc[0]*nc[1]*nc[2])
	for k := 0; k < img.Dims[2]; k++ {
		for j := 0; j < img.Dims[1]; j++ {
			for i := 0; i < img.Dims[0]; i++ {
				v := img.Data[img.Index(i, j, k)]
				if v >= 1700 && v <= 2800 {
					counts[i/cell[0]+nc[0]*(j/cell[1]+nc[1]*(k/cell[2]))]++
				}
			}
		}
	}
	best, bi := -1, 0
	for i, n := range counts {
		if n > best {
			best, bi = n, i
		}
	}
	ci, cj, ck := bi%nc[0], (bi/nc[0])%nc[1], bi/(nc[0]*nc[1])
	return [3]int{
		min(img.Dims[0]-1, ci*cell[0]+cell[0]/2),
		min(img.Dims[1]-1, cj*cell[1]+cell[1]/2),
		min(img.Dims[2]-1, ck*cell[2]+cell[2]/2),
	}
}
