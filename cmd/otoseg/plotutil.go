package main

import (
	"fmt"
	"image/color"
	"io"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/otoseg/otoseg/internal/atomicfile"
)

// palette is a colour-blind-safe set (Okabe-Ito).
var palette = []color.Color{
	color.RGBA{0, 114, 178, 255}, color.RGBA{213, 94, 0, 255}, color.RGBA{0, 158, 115, 255},
	color.RGBA{204, 121, 167, 255}, color.RGBA{86, 180, 233, 255}, color.RGBA{230, 159, 0, 255},
}

// savePlot writes a plot as PNG (or SVG by extension) atomically.
func savePlot(p *plot.Plot, path string) error {
	w, err := p.WriterTo(7*vg.Inch, 4*vg.Inch, filepath.Ext(path)[1:])
	if err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	err = atomicfile.Write(path, func(f io.Writer) error {
		_, err := w.WriteTo(f)
		return err
	})
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}
