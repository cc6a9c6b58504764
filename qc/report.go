package qc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/otoseg/otoseg/internal/atomicfile"
)

// WriteReport writes a cohort's QC evaluation to dir: qc_report.md (the
// figures), qc_samples.json (every ear) and qc_score_vs_dice.png.
func WriteReport(dir, title string, ev Evaluation, samples []Sample) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	md := filepath.Join(dir, "qc_report.md")
	if err := atomicfile.Write(md, func(w io.Writer) error { PrintEvaluation(w, title, ev); return nil }); err != nil {
		return fmt.Errorf("qc: writing %s: %w", md, err)
	}
	js := filepath.Join(dir, "qc_samples.json")
	err := atomicfile.Write(js, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"evaluation": ev, "ears": samples})
	})
	if err != nil {
		return fmt.Errorf("qc: writing %s: %w", js, err)
	}
	png, err := ScatterPNG(title, ev, samples)
	if err != nil {
		return fmt.Errorf("qc: drawing the score against Dice: %w", err)
	}
	p := filepath.Join(dir, "qc_score_vs_dice.png")
	if err := atomicfile.WriteBytes(p, png); err != nil {
		return fmt.Errorf("qc: writing %s: %w", p, err)
	}
	return nil
}

// PrintEvaluation writes the figures as Markdown.
func PrintEvaluation(w io.Writer, title string, ev Evaluation) {
	fmt.Fprintf(w, "### %s\n\n", title)
	fmt.Fprintf(w, "| ears | bad (Dice < %.2f) | good | missed by segmentation | AUROC | bad flagged | good flagged | threshold |\n|---|---|---|---|---|---|---|---|\n", BadDice)
	auroc := fmt.Sprintf("%.3f", ev.AUROC)
	if ev.Bad == 0 || ev.Good == 0 {
		auroc = "n/a" // needs bad and good ears
	}
	fmt.Fprintf(w, "| %d | %d | %d | %d | %s | %s | %s | %.3f |\n\n", ev.Ears, ev.Bad, ev.Good, ev.Missed, auroc,
		Share(ev.BadFlagged, ev.Bad), Share(ev.GoodFlagged, ev.Good), ev.Threshold)
}

// Share prints a flagged count as "a/b (p%)", "-" when b is 0; the one
// format of the flagged shares in qc_report.md and report.html.
func Share(a, b int) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d (%.0f%%)", a, b, 100*float64(a)/float64(b))
}

// ScatterPNG draws the QC score against the labyrinth Dice of every scored
// ear (bad ears red), with the flag threshold, as a PNG. It is the one
// drawing of this plot: qc_score_vs_dice.png (otoseg qc evaluate, and
// docs/qc-score-vs-dice.png copied from it) and otoseg evaluate's
// report.html both take its bytes, so the two cannot drift apart.
func ScatterPNG(title string, ev Evaluation, samples []Sample) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "labyrinth Dice"
	p.Y.Label.Text = "QC score"
	var good, bad plotter.XYs
	for _, s := range samples {
		if s.Signals == nil {
			continue
		}
		if s.Bad() {
			bad = append(bad, plotter.XY{X: s.Dice, Y: s.Score})
		} else {
			good = append(good, plotter.XY{X: s.Dice, Y: s.Score})
		}
	}
	for _, set := range []struct {
		xy   plotter.XYs
		c    color.RGBA
		name string
	}{{good, color.RGBA{40, 120, 220, 255}, "Dice >= 0.85"}, {bad, color.RGBA{220, 50, 40, 255}, "Dice < 0.85"}} {
		if len(set.xy) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(set.xy)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle.Color = set.c
		sc.GlyphStyle.Radius = vg.Points(3)
		p.Add(sc)
		p.Legend.Add(set.name, sc)
	}
	lo := 0.0
	for _, s := range samples {
		if s.Signals != nil && s.Dice < lo+1 {
			lo = min(lo+1, s.Dice) - 1
		}
	}
	thr, err := plotter.NewLine(plotter.XYs{{X: lo + 1 - 0.02, Y: ev.Threshold}, {X: 1, Y: ev.Threshold}})
	if err != nil {
		return nil, err
	}
	thr.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(thr)
	p.Legend.Add(fmt.Sprintf("flag threshold %.2f", ev.Threshold), thr)
	p.Legend.Top = false
	p.Legend.Left = false
	p.Y.Min, p.Y.Max = 0, 1
	wt, err := p.WriterTo(6*vg.Inch, 4*vg.Inch, "png")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
