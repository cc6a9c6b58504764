package main

import (
	"fmt"
	"image"
	"image/draw"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/otoseg/otoseg/internal/safeout"

	"github.com/otoseg/otoseg/ear"
	"github.com/otoseg/otoseg/locate"
	"github.com/otoseg/otoseg/phantom"

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
		Example: `  otoseg snapshot scan.nii.gz -o scan.png
  otoseg snapshot scan.nii.gz --label scan_labels.nii.gz -o check.png --field 30
  otoseg snapshot scan.nii.gz -o slices.png --centre 256,300,90 --window 400,40`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Image = args[0]
			return runSnapshot(o, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Label, "label", "", "label map on the image's grid to outline")
	f.StringVarP(&o.Out, "out", "o", "", "output PNG (required)")
	f.StringVar(&o.Centre, "centre", "", "voxel i,j,k where the slices cross")
	f.StringVar(&o.Centre, "center", "", "alias of --centre")
	f.Float64Var(&o.FieldMM, "field", 40, "mm shown around the centre (0: whole slices)")
	f.Float64Var(&o.PixelMM, "pixel", 0, "mm per output pixel (0: about 320 pixels per panel)")
	f.StringVar(&o.Window, "window", "4000,1000", "display window as WIDTH,LEVEL in HU")
	f.StringVar(&o.Title, "title", "", "caption above the panels (default: the image name)")
	return cmd
}

func runSnapshot(o *snapshotOptions, log io.Writer) error {
	if o.Out == "" {
		return usagef("-o PNG is required")
	}
	if !strings.EqualFold(filepath.Ext(o.Out), ".png") {
		return usagef("%s: snapshot writes PNG; name the output .png", o.Out)
	}
	win, err := parseWindow(o.Window)
	if err != nil {
		return usageError{err}
	}
	if !(o.FieldMM >= 0) || !(o.PixelMM >= 0) {
		return usagef("--field %g, --pixel %g: want non-negative millimetres", o.FieldMM, o.PixelMM)
	}
	inputs := []string{o.Image}
	if o.Label != "" {
		inputs = append(inputs, o.Label)
	}
	if err := safeout.File(o.Out, inputs...); err != nil {
		return usageError{err}
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
			return usageError{err}
		}
		how = "given"
	default:
		var ok bool
		if lab != nil {
			c, ok = ear.LabelCentre(lab, ear.Background)
			how = "label"
			// a second row through the vestibule when the first goes through
			// the cochlea: the canals show there
			if cc, ok1 := ear.LabelCentre(lab, ear.Cochlea); ok1 {
				if vc, ok2 := ear.LabelCentre(lab, ear.Vestibule); ok2 {
					c, rows = cc, [][3]int{vc}
					how = "label: cochlea, then vestibule"
				}
			}
		}
		if !ok {
			c, ok = phantom.EarCentre(o.Image, img)
			how = "sidecar"
		}
		if !ok {
			c = locate.DensestBone(img)
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
	fmt.Fprintf(log, "wrote %s (centre %d,%d,%d from %s)\n", o.Out, c[0], c[1], c[2], how)
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
