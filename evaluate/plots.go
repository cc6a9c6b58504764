package evaluate

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/otoseg/otoseg/dataset"
	"github.com/otoseg/otoseg/metrics"
	"github.com/otoseg/otoseg/stats"
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
		if err := f.store(format, wt); err != nil {
			return f, err
		}
	}
	return f, nil
}

// store encodes one format of the figure (what render and renderGrid both
// end with).
func (f *Figure) store(format string, wt io.WriterTo) error {
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return fmt.Errorf("plot %s: %w", f.Name, err)
	}
	if format == "png" {
		f.PNG = b.Bytes()
	} else {
		f.SVG = b.Bytes()
	}
	return nil
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
		c := color.Color(colInternal)
		if g.ext {
			c = colExternal
		}
		if _, err := addGroup(p, float64(i), g.v, vg.Points(28), c); err != nil {
			return Figure{}, false, err
		}
		names = append(names, g.label)
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.6, float64(len(names))-0.4
	p.Y.Max = diceYMax // room between the highest box and the title
	p.Add(plotter.NewGrid())
	f, err := render(p, "dice_by_group", "Dice by split and subgroup",
		fmt.Sprintf("Box plots of labyrinth Dice, one value per ear (box: IQR, line: median, whiskers: 1.5 IQR); groups of fewer than %d ears are drawn as their points. Blue: training centres, red: external centre.", minBoxN),
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
			// Side by side within the structure's slot, in data units so
			// that points of small groups sit where a box would.
			x := float64(i) + float64(2*c-1)*0.2
			thumb, err := addGroup(p, x, v, vg.Points(22), []color.Color{colInternal, colExternal}[c])
			if err != nil {
				return Figure{}, false, err
			}
			if !legend[coh] {
				legend[coh] = true
				p.Legend.Add(coh, thumb)
			}
		}
	}
	if !drawn {
		return Figure{}, false, nil
	}
	p.NominalX(names...)
	// An empty slot right of the last structure holds the legend, so that
	// it never covers a box (Dice sits high, and low values sit low).
	p.X.Min, p.X.Max = -0.6, float64(len(names))+0.5
	p.Y.Max = diceYMax
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	f, err := render(p, "dice_by_structure", "Dice by structure",
		fmt.Sprintf("Dice per ear for each structure; blue internal (train + validation), red external; groups of fewer than %d ears drawn as points.", minBoxN),
		vg.Points(520), vg.Points(300))
	return f, true, err
}

// diceYMax tops the Dice axes: Dice sits near 1, and a box drawn up to the
// frame merges with the title.
const diceYMax = 1.03

// minBoxN is the fewest values drawn as a box plot: a box of one or two
// values shows quartiles and whiskers that do not exist.
const minBoxN = 3

// addGroup draws one group's values at x (see groupPlotter) and returns
// what the legend should show for the group.
func addGroup(p *plot.Plot, x float64, v plotter.Values, width vg.Length, c color.Color) (plot.Thumbnailer, error) {
	pl, err := groupPlotter(x, v, width, c)
	if err != nil {
		return nil, err
	}
	p.Add(pl)
	return swatch{withAlpha(c, 0x60)}, nil
}

// groupPlotter is a box plot (filled with c at low alpha) from minBoxN
// values, else the values themselves as points in c.
func groupPlotter(x float64, v plotter.Values, width vg.Length, c color.Color) (plot.Plotter, error) {
	if len(v) >= minBoxN {
		b, err := plotter.NewBoxPlot(width, x, v)
		if err != nil {
			return nil, err
		}
		b.FillColor = withAlpha(c, 0x60)
		return b, nil
	}
	xy := make(plotter.XYs, len(v))
	for i, y := range v {
		xy[i] = plotter.XY{X: x, Y: y}
	}
	s, err := plotter.NewScatter(xy)
	if err != nil {
		return nil, err
	}
	s.GlyphStyle.Color = c
	s.GlyphStyle.Radius = vg.Points(3)
	s.GlyphStyle.Shape = draw.CircleGlyph{}
	return s, nil
}

// swatch is a legend thumbnail: a filled rectangle of one colour.
type swatch struct{ c color.Color }

func (s swatch) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Min.X, Y: c.Max.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Max.X, Y: c.Min.Y}}
	c.FillPolygon(s.c, c.ClipPolygonY(pts))
}

// blandAltman draws one Bland-Altman panel per structure (predicted −
// reference volume against their mean, per ear) in a 2 × 2 figure. The ears
// are those of the volume table (reference has the structure); failed ears
// (empty prediction) are crosses at −V_ref.
func blandAltman(rows []CaseRow) (Figure, bool, error) {
	var panels []*plot.Plot
	drawn := false
	var caption []string
	for _, st := range metrics.Structures {
		p, ba, n, err := blandAltmanPanel(rows, st.Name)
		if err != nil {
			return Figure{}, false, err
		}
		drawn = drawn || n > 0
		panels = append(panels, p)
		if ba != nil {
			caption = append(caption, fmt.Sprintf("%s bias %+.1f mm³ (limits %+.1f to %+.1f)", st.Name, ba.Bias, ba.LoALow, ba.LoAHigh))
		} else {
			caption = append(caption, fmt.Sprintf("%s: %d ears, no limits", st.Name, n))
		}
	}
	if !drawn {
		return Figure{}, false, nil
	}
	grid := [][]*plot.Plot{{panels[0], panels[1]}, {panels[2], panels[3]}}
	f, err := renderGrid(grid, "bland_altman_volume", "Bland-Altman of volumes per structure",
		"Each point is one ear whose reference has the structure; crosses are failed ears (empty prediction, plotted at −V_ref). Solid line: bias; dashed: 95% limits of agreement (bias ± 1.96 SD). "+strings.Join(caption, "; ")+".",
		vg.Points(760), vg.Points(600))
	return f, true, err
}

// blandAltmanPanel draws the panel of one structure; ba is nil with fewer
// than minVolumeBiasN ears.
func blandAltmanPanel(rows []CaseRow, structure string) (*plot.Plot, *stats.BlandAltman, int, error) {
	p := plot.New()
	p.Title.Text = structure
	p.X.Label.Text = "mean of reference and predicted (mm³)"
	p.Y.Label.Text = "predicted − reference (mm³)"
	p.Add(plotter.NewGrid())
	var pts [3]plotter.XYs // internal, external, failed
	var ref, pred []float64
	for _, r := range earRows(rows, structure) {
		if !(r.VolumeRef > 0) {
			continue
		}
		q := plotter.XY{X: (r.VolumeRef + r.VolumePred) / 2, Y: r.VolumePred - r.VolumeRef}
		switch {
		case r.Status == metrics.StatusPredEmpty:
			pts[2] = append(pts[2], q)
		case cohort(r.Case) == CohortExternal:
			pts[1] = append(pts[1], q)
		default:
			pts[0] = append(pts[0], q)
		}
		ref, pred = append(ref, r.VolumeRef), append(pred, r.VolumePred)
	}
	n := len(ref)
	if n == 0 {
		p.Title.Text += " (no ears)"
		return p, nil, 0, nil
	}
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for c, xy := range pts {
		if len(xy) == 0 {
			continue
		}
		for _, q := range xy {
			xmin, xmax = math.Min(xmin, q.X), math.Max(xmax, q.X)
			ymin, ymax = math.Min(ymin, q.Y), math.Max(ymax, q.Y)
		}
		s, err := plotter.NewScatter(xy)
		if err != nil {
			return nil, nil, 0, err
		}
		s.GlyphStyle.Color = []color.Color{colInternal, colExternal, colGrey}[c]
		s.GlyphStyle.Radius = vg.Points(2.5)
		s.GlyphStyle.Shape = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.CircleGlyph{}, draw.CrossGlyph{}}[c]
		p.Add(s)
		p.Legend.Add([]string{CohortInternal, CohortExternal, "failed (empty)"}[c], s)
	}
	var baPtr *stats.BlandAltman
	if n >= minVolumeBiasN {
		ba, err := stats.BlandAltmanOf(ref, pred)
		if err != nil {
			return nil, nil, 0, err
		}
		baPtr = &ba
		for i, y := range []float64{ba.Bias, ba.LoALow, ba.LoAHigh} {
			l, err := plotter.NewLine(plotter.XYs{{X: xmin, Y: y}, {X: xmax, Y: y}})
			if err != nil {
				return nil, nil, 0, err
			}
			l.Color = colGrey
			if i > 0 {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			}
			p.Add(l)
			if i == 0 {
				p.Legend.Add(fmt.Sprintf("bias %+.1f", ba.Bias), l)
			} else if i == 1 {
				p.Legend.Add(fmt.Sprintf("limits %+.1f, %+.1f", ba.LoALow, ba.LoAHigh), l)
			}
			ymin, ymax = math.Min(ymin, y), math.Max(ymax, y)
		}
	} else {
		p.Title.Text += fmt.Sprintf(" (%d ears: no limits)", n)
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	// Pad the data range so edge glyphs are not clipped, and leave the top
	// 40% to the legend.
	dx, dy := 0.05*(xmax-xmin)+1e-9, (ymax-ymin)+1e-9
	if xmax-xmin < 1e-6 {
		dx = 0.05*math.Abs(xmax) + 1
	}
	if ymax-ymin < 1e-6 {
		dy = 0.1*math.Abs(ymax) + 1
	}
	p.X.Min, p.X.Max = xmin-dx, xmax+dx
	p.Y.Min, p.Y.Max = ymin-0.05*dy, ymax+0.7*dy
	return p, baPtr, n, nil
}

// renderGrid draws plots aligned on a grid into one PNG and one SVG.
func renderGrid(plots [][]*plot.Plot, name, title, caption string, w, h vg.Length) (Figure, error) {
	f := Figure{Name: name, Title: title, Caption: caption}
	for _, format := range []string{"png", "svg"} {
		c, err := draw.NewFormattedCanvas(w, h, format)
		if err != nil {
			return f, fmt.Errorf("plot %s: %w", name, err)
		}
		tiles := draw.Tiles{Rows: len(plots), Cols: len(plots[0]), PadX: vg.Points(18), PadY: vg.Points(18),
			PadTop: vg.Points(6), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}
		canvases := plot.Align(plots, tiles, draw.New(c))
		for j, row := range plots {
			for i, p := range row {
				p.Draw(canvases[j][i])
			}
		}
		if err := f.store(format, c); err != nil {
			return f, err
		}
	}
	return f, nil
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
	manualName := "manual"
	if res.simulatedManual {
		manualName = "manual\n(simulated)"
	}
	var names []string
	for i, v := range []plotter.Values{auto, manual} {
		name := []string{"automated", manualName}[i]
		names = append(names, fmt.Sprintf("%s\nn=%d", name, len(v)))
		if len(v) == 0 {
			continue
		}
		if _, err := addGroup(p, float64(i), v, vg.Points(40), []color.Color{colInternal, colGrey}[i]); err != nil {
			return Figure{}, false, err
		}
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.6, 1.6
	p.Add(plotter.NewGrid())
	caption := "Automated time per case against manual segmentation time."
	if res.simulatedManual {
		caption = "Automated time per case against simulated manual segmentation time (simulated, not measured: illustrative only)."
	}
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
		if g.Stratum == "center" || g.Stratum == "pathology" {
			continue // in the table; as bars they would crowd the plot
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
