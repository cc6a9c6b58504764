package study

import (
	"bytes"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/otoseg/otoseg/dataset"
	"github.com/otoseg/otoseg/metrics"
)

// Figure is one plot of the report, rendered as PNG and SVG.
type Figure struct {
	Name    string // file stem: <Name>.png, <Name>.svg
	Title   string
	Caption string
	PNG     []byte
	SVG     []byte
}

var (
	colInternal = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	colExternal = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	colGrey     = color.RGBA{R: 0x55, G: 0x55, B: 0x55, A: 0xff}
	likertCols  = []color.Color{
		color.RGBA{R: 0x1a, G: 0x98, B: 0x50, A: 0xff},
		color.RGBA{R: 0xa6, G: 0xd9, B: 0x6a, A: 0xff},
		color.RGBA{R: 0xfd, G: 0xae, B: 0x61, A: 0xff},
		color.RGBA{R: 0xd7, G: 0x30, B: 0x27, A: 0xff},
	}
)

func render(p *plot.Plot, name, title, caption string, w, h vg.Length) (Figure, error) {
	f := Figure{Name: name, Title: title, Caption: caption}
	for _, format := range []string{"png", "svg"} {
		wt, err := p.WriterTo(w, h, format)
		if err != nil {
			return f, fmt.Errorf("plot %s: %w", name, err)
		}
		var b bytes.Buffer
		if _, err := wt.WriteTo(&b); err != nil {
			return f, fmt.Errorf("plot %s: %w", name, err)
		}
		if format == "png" {
			f.PNG = b.Bytes()
		} else {
			f.SVG = b.Bytes()
		}
	}
	return f, nil
}

var splitOrder = []string{dataset.SplitTrain, dataset.SplitValidation, dataset.SplitExternal}

// figures draws every plot the data allows.
func figures(res *Result) ([]Figure, error) {
	var figs []Figure
	add := func(f Figure, ok bool, err error) error {
		if err != nil {
			return err
		}
		if ok {
			figs = append(figs, f)
		}
		return nil
	}
	if err := add(diceByGroup(res.Rows)); err != nil {
		return nil, err
	}
	if err := add(diceByStructure(res.Rows)); err != nil {
		return nil, err
	}
	if err := add(blandAltman(res.Rows)); err != nil {
		return nil, err
	}
	if err := add(timePlot(res)); err != nil {
		return nil, err
	}
	if err := add(likertPlot(res.Summary.Likert)); err != nil {
		return nil, err
	}
	return figs, nil
}

func earRows(rows []CaseRow, structure string) []CaseRow {
	var out []CaseRow
	for _, r := range rows {
		if r.Ear != metrics.EarBoth && r.Structure == structure {
			out = append(out, r)
		}
	}
	return out
}

func diceByGroup(rows []CaseRow) (Figure, bool, error) {
	type group struct {
		label string
		v     plotter.Values
		ext   bool
	}
	var groups []group
	for _, sp := range splitOrder {
		for _, sg := range []string{dataset.SubgroupNormal, dataset.SubgroupPathological} {
			var v plotter.Values
			for _, r := range earRows(rows, "labyrinth") {
				if r.Case.Split == sp && r.Case.Subgroup == sg && !math.IsNaN(r.Dice) {
					v = append(v, r.Dice)
				}
			}
			if len(v) > 0 {
				groups = append(groups, group{fmt.Sprintf("%s\n%s\nn=%d", sp, sg, len(v)), v, sp == dataset.SplitExternal})
			}
		}
	}
	if len(groups) == 0 {
		return Figure{}, false, nil
	}
	p := plot.New()
	p.Title.Text = "Labyrinth Dice per ear, by split and subgroup"
	p.Y.Label.Text = "Dice"
	var names []string
	for i, g := range groups {
		b, err := plotter.NewBoxPlot(vg.Points(28), float64(i), g.v)
		if err != nil {
			return Figure{}, false, err
		}
		b.FillColor = colInternal
		if g.ext {
			b.FillColor = colExternal
		}
		b.FillColor = withAlpha(b.FillColor, 0x60)
		p.Add(b)
		names = append(names, g.label)
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.6, float64(len(names))-0.4
	p.Add(plotter.NewGrid())
	f, err := render(p, "dice_by_group", "Dice by split and subgroup",
		"Box plots of labyrinth Dice, one value per ear (box: IQR, line: median, whiskers: 1.5 IQR). Blue: training centres, red: external centre.",
		vg.Points(max(360, 75*float64(len(groups)))), vg.Points(300))
	return f, true, err
}

func withAlpha(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: a}
}

func diceByStructure(rows []CaseRow) (Figure, bool, error) {
	p := plot.New()
	p.Title.Text = "Dice per ear by structure and cohort"
	p.Y.Label.Text = "Dice"
	drawn := false
	legend := map[string]bool{}
	var names []string
	for i, st := range metrics.Structures {
		names = append(names, st.Name)
		for c, coh := range []string{CohortInternal, CohortExternal} {
			var v plotter.Values
			for _, r := range earRows(rows, st.Name) {
				if cohort(r.Case) == coh && !math.IsNaN(r.Dice) {
					v = append(v, r.Dice)
				}
			}
			if len(v) == 0 {
				continue
			}
			drawn = true
			b, err := plotter.NewBoxPlot(vg.Points(22), float64(i), v)
			if err != nil {
				return Figure{}, false, err
			}
			b.Offset = vg.Points(float64(2*c-1) * 13)
			b.FillColor = withAlpha([]color.Color{colInternal, colExternal}[c], 0x60)
			p.Add(b)
			if !legend[coh] {
				legend[coh] = true
				p.Legend.Add(coh, swatch{b.FillColor})
			}
		}
	}
	if !drawn {
		return Figure{}, false, nil
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.6, float64(len(names))-0.4
	p.Legend.Left = true // Dice sits high: the bottom left is empty
	p.Add(plotter.NewGrid())
	f, err := render(p, "dice_by_structure", "Dice by structure",
		"Dice per ear for each structure; blue internal (train + validation), red external.", vg.Points(460), vg.Points(300))
	return f, true, err
}

// swatch is a legend thumbnail: a filled rectangle of one colour.
type swatch struct{ c color.Color }

func (s swatch) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Min.X, Y: c.Max.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Max.X, Y: c.Min.Y}}
	c.FillPolygon(s.c, c.ClipPolygonY(pts))
}

func blandAltman(rows []CaseRow) (Figure, bool, error) {
	var pts [2]plotter.XYs
	var diffs []float64
	for _, r := range earRows(rows, "labyrinth") {
		if r.Status != metrics.StatusOK {
			continue
		}
		m := (r.VolumeRef + r.VolumePred) / 2
		d := r.VolumePred - r.VolumeRef
		c := 0
		if cohort(r.Case) == CohortExternal {
			c = 1
		}
		pts[c] = append(pts[c], plotter.XY{X: m, Y: d})
		diffs = append(diffs, d)
	}
	if len(diffs) < 2 {
		return Figure{}, false, nil
	}
	var mean, sd float64
	for _, d := range diffs {
		mean += d
	}
	mean /= float64(len(diffs))
	for _, d := range diffs {
		sd += (d - mean) * (d - mean)
	}
	sd = math.Sqrt(sd / float64(len(diffs)-1))
	p := plot.New()
	p.Title.Text = "Bland-Altman: labyrinth volume per ear"
	p.X.Label.Text = "mean of reference and predicted volume (mm³)"
	p.Y.Label.Text = "predicted − reference (mm³)"
	p.Add(plotter.NewGrid())
	xmin, xmax := math.Inf(1), math.Inf(-1)
	for c, xy := range pts {
		if len(xy) == 0 {
			continue
		}
		for _, q := range xy {
			xmin, xmax = math.Min(xmin, q.X), math.Max(xmax, q.X)
		}
		s, err := plotter.NewScatter(xy)
		if err != nil {
			return Figure{}, false, err
		}
		s.GlyphStyle.Color = []color.Color{colInternal, colExternal}[c]
		s.GlyphStyle.Radius = vg.Points(2.5)
		s.GlyphStyle.Shape = draw.CircleGlyph{}
		p.Add(s)
		p.Legend.Add([]string{CohortInternal, CohortExternal}[c], s)
	}
	for i, y := range []float64{mean, mean - 1.96*sd, mean + 1.96*sd} {
		l, err := plotter.NewLine(plotter.XYs{{X: xmin, Y: y}, {X: xmax, Y: y}})
		if err != nil {
			return Figure{}, false, err
		}
		l.Color = colGrey
		if i > 0 {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(l)
		if i == 0 {
			p.Legend.Add(fmt.Sprintf("bias %.1f", mean), l)
		} else if i == 1 {
			p.Legend.Add(fmt.Sprintf("limits of agreement %.1f, %.1f", mean-1.96*sd, mean+1.96*sd), l)
		}
	}
	p.Legend.Top = true
	p.Legend.Left = true
	// Pad the data range so edge glyphs are not clipped, and leave the top
	// quarter to the legend.
	ymin, ymax := mean-1.96*sd, mean+1.96*sd
	for _, d := range diffs {
		ymin, ymax = math.Min(ymin, d), math.Max(ymax, d)
	}
	dx, dy := 0.05*(xmax-xmin)+1e-9, (ymax-ymin)+1e-9
	p.X.Min, p.X.Max = xmin-dx, xmax+dx
	p.Y.Min, p.Y.Max = ymin-0.05*dy, ymax+0.35*dy
	f, err := render(p, "bland_altman_volume", "Bland-Altman of labyrinth volumes",
		fmt.Sprintf("Each point is one ear (both masks non-empty). Bias %.2f mm³, 95%% limits of agreement %.2f to %.2f mm³ (bias ± 1.96 SD).", mean, mean-1.96*sd, mean+1.96*sd),
		vg.Points(460), vg.Points(320))
	return f, true, err
}

func timePlot(res *Result) (Figure, bool, error) {
	t := res.Summary.Time
	if t == nil {
		return Figure{}, false, nil
	}
	var auto, manual plotter.Values
	for _, r := range res.Rows {
		if r.Ear != metrics.EarBoth || r.Structure != "labyrinth" {
			continue
		}
		if r.Case.ManualSeconds > 0 {
			manual = append(manual, r.Case.ManualSeconds)
		}
	}
	auto = append(auto, res.autoSeconds...)
	if len(auto) == 0 && len(manual) == 0 {
		return Figure{}, false, nil
	}
	p := plot.New()
	p.Title.Text = "Processing time per case"
	p.Y.Label.Text = "seconds (log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	var names []string
	for i, v := range []plotter.Values{auto, manual} {
		name := []string{"automated", "manual"}[i]
		names = append(names, fmt.Sprintf("%s\nn=%d", name, len(v)))
		if len(v) == 0 {
			continue
		}
		b, err := plotter.NewBoxPlot(vg.Points(40), float64(i), v)
		if err != nil {
			return Figure{}, false, err
		}
		b.FillColor = withAlpha([]color.Color{colInternal, colGrey}[i], 0x60)
		p.Add(b)
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.6, 1.6
	p.Add(plotter.NewGrid())
	caption := "Automated time per case against manual segmentation time."
	if t.Paired > 0 {
		caption += fmt.Sprintf(" Median speed-up %.1f× over %d paired cases.", t.SpeedupOfMedians, t.Paired)
	}
	f, err := render(p, "time", "Processing time", caption, vg.Points(320), vg.Points(300))
	return f, true, err
}

func likertPlot(l *LikertSummary) (Figure, bool, error) {
	if l == nil || l.Ratings == 0 {
		return Figure{}, false, nil
	}
	groups := []GroupShares{{Stratum: "all", Group: "all", N: l.Ratings, Levels: l.Overall}}
	for _, g := range l.ByGroup {
		if g.Stratum == "cohort" && g.Group == CohortExternal {
			continue // the same ratings as split "external"
		}
		groups = append(groups, g)
	}
	p := plot.New()
	p.Title.Text = "Likert ratings"
	p.Y.Label.Text = "share of ratings (%)"
	var below *plotter.BarChart
	var bars []*plotter.BarChart
	for lv := 0; lv < 4; lv++ {
		v := make(plotter.Values, len(groups))
		for i, g := range groups {
			v[i] = 100 * g.Levels[lv].Share
		}
		b, err := plotter.NewBarChart(v, vg.Points(26))
		if err != nil {
			return Figure{}, false, err
		}
		b.Color = likertCols[lv]
		b.LineStyle.Width = 0
		if below != nil {
			b.StackOn(below)
		}
		below = b
		p.Add(b)
		bars = append(bars, b)
	}
	for lv := 3; lv >= 0; lv-- { // level 4 on top, as in the stack
		p.Legend.Add(fmt.Sprintf("%d %s", lv+1, LikertLevels[lv]), bars[lv])
	}
	var names []string
	for _, g := range groups {
		label := g.Group
		if g.Stratum == "cohort" {
			label += "\n(train+val)"
		}
		names = append(names, fmt.Sprintf("%s\nn=%d", label, g.N))
	}
	p.NominalX(names...)
	// Room above the bars for the legend.
	p.Y.Max = 135
	p.Y.Tick.Marker = plot.ConstantTicks([]plot.Tick{{Value: 0, Label: "0"}, {Value: 25, Label: "25"}, {Value: 50, Label: "50"}, {Value: 75, Label: "75"}, {Value: 100, Label: "100"}})
	p.Legend.Top = true
	p.Legend.Left = true
	f, err := render(p, "likert", "Likert distribution",
		"Share of each Likert level overall and per split, cohort and subgroup (every reader's rating counts).",
		vg.Points(max(380, 60*float64(len(groups)))), vg.Points(340))
	return f, true, err
}
