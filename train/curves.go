package train

import (
	"context"
	"encoding/csv"
	"fmt"
	"image/color"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/otoseg/otoseg/internal/atomicfile"
	"github.com/otoseg/otoseg/unet"
)

// CurveRow is one epoch of one network's training curve.
type CurveRow struct {
	Network string
	EpochLog
}

// fit trains one network with a progress bar and prints each epoch.
func fit(ctx context.Context, log io.Writer, name string, net *unet.UNet, samples, val []*Sample, o FitOptions, curves *[]CurveRow) error {
	fmt.Fprintf(log, "%s: %d training and %d validation samples, patch %v, %d epochs x %d steps x batch %d\n",
		name, len(samples), len(val), o.Patcher.Patch, o.Epochs, o.StepsPerEpoch, o.Batch)
	bar := newBar(log, o.Epochs*o.StepsPerEpoch, name)
	o.OnStep = func(epoch, step int, loss float64) {
		bar.Describe(fmt.Sprintf("%s epoch %d/%d loss %.3f", name, epoch+1, o.Epochs, loss))
		_ = bar.Add(1)
	}
	first := true
	err := Fit(ctx, net, samples, val, o, func(l EpochLog) error {
		if first && o.Resume && l.Epoch > 1 {
			_ = bar.Set((l.Epoch - 1) * o.StepsPerEpoch)
		}
		first = false
		*curves = append(*curves, CurveRow{name, l})
		_ = bar.Clear()
		val := "not validated"
		if l.Validated {
			val = fmt.Sprintf("%.4f %v", l.ValDice, fmtDice(l.ValDiceClass))
		}
		fmt.Fprintf(log, "%s epoch %3d  lr %.5f  loss %.4f  val Dice %s  %.0fs\n", name, l.Epoch, l.LR, l.TrainLoss, val, l.Seconds)
		return nil
	})
	_ = bar.Finish()
	return err
}

func fmtDice(d []float64) string {
	var s []string
	for _, x := range d {
		s = append(s, strconv.FormatFloat(x, 'f', 3, 64))
	}
	return "[" + strings.Join(s, " ") + "]"
}

// curvePalette is a colour-blind-safe set (Okabe-Ito).
var curvePalette = [...]color.Color{
	color.RGBA{0, 114, 178, 255}, color.RGBA{213, 94, 0, 255}, color.RGBA{0, 158, 115, 255},
	color.RGBA{204, 121, 167, 255}, color.RGBA{86, 180, 233, 255}, color.RGBA{230, 159, 0, 255},
}

// writeCurves writes training.csv and training.png (loss and validation
// Dice per epoch, one line per network).
func writeCurves(dir string, rows []CurveRow) error {
	path := filepath.Join(dir, "training.csv")
	err := atomicfile.Write(path, func(f io.Writer) error {
		w := csv.NewWriter(f)
		_ = w.Write([]string{"network", "epoch", "lr", "train_loss", "val_dice", "val_dice_per_class", "seconds"})
		for _, r := range rows {
			// An epoch without validation leaves its Dice cells empty.
			dice, perClass := "", ""
			if r.Validated {
				dice, perClass = strconv.FormatFloat(r.ValDice, 'f', 5, 64), strings.Trim(fmtDice(r.ValDiceClass), "[]")
			}
			_ = w.Write([]string{r.Network, strconv.Itoa(r.Epoch), strconv.FormatFloat(r.LR, 'g', 6, 64),
				strconv.FormatFloat(r.TrainLoss, 'f', 5, 64), dice, perClass, strconv.FormatFloat(r.Seconds, 'f', 1, 64)})
		}
		w.Flush()
		return w.Error()
	})
	if err != nil {
		return fmt.Errorf("training curves: %w", err)
	}
	if len(rows) == 0 {
		return nil
	}
	return savePlot(curvePlot(rows), filepath.Join(dir, "training.png"))
}

// curvePlot draws every network's training loss (solid) and validation
// Dice (dashed, when there was validation).
func curvePlot(rows []CurveRow) *plot.Plot {
	pl := plot.New()
	pl.Title.Text = "otoseg training"
	pl.X.Label.Text = "epoch"
	pl.Y.Label.Text = "loss / Dice"
	series := map[string][2]plotter.XYs{}
	var names []string
	for _, r := range rows {
		s, ok := series[r.Network]
		if !ok {
			names = append(names, r.Network)
		}
		s[0] = append(s[0], plotter.XY{X: float64(r.Epoch), Y: r.TrainLoss})
		if r.Validated {
			s[1] = append(s[1], plotter.XY{X: float64(r.Epoch), Y: r.ValDice})
		}
		series[r.Network] = s
	}
	for i, n := range names {
		s := series[n]
		// NewLine fails only on NaN or infinite points, which a loss that
		// diverged would be; the curve is then left out.
		if l, err := plotter.NewLine(s[0]); err == nil {
			l.Color = curvePalette[(2*i)%len(curvePalette)]
			pl.Add(l)
			pl.Legend.Add(n+" train loss", l)
		}
		if len(s[1]) > 0 && s[1][len(s[1])-1].Y > 0 {
			if d, err := plotter.NewLine(s[1]); err == nil {
				d.Color = curvePalette[(2*i+1)%len(curvePalette)]
				d.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
				pl.Add(d)
				pl.Legend.Add(n+" validation Dice", d)
			}
		}
	}
	pl.Legend.Top = true
	return pl
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
