package truth

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/otoseg/otoseg/phantom"
)

// Targets are the accuracy targets on normal ears (absolute
// error): A value 0.3 mm, turns 0.2, traced lateral-wall CDL 5%.
var Targets = map[string]float64{"a_value_mm": 0.3, "turns": 0.2, "cdl_lateral_wall_traced_pct": 5}

// Stat summarises one figure's errors over a group of ears.
type Stat struct {
	Figure string  `json:"figure"`
	N      int     `json:"n"`
	MAE    float64 `json:"mae"`
	Bias   float64 `json:"bias"`
	MaxAbs float64 `json:"max_abs"`
	// WithinTarget counts ears within Targets[Figure] (when it has one).
	WithinTarget int `json:"within_target"`
	// Unmeasured counts ears found whose truth is comparable but that got
	// a warning instead of this figure.
	Unmeasured int `json:"unmeasured"`
}

// Group is the statistics of one subgroup of ears.
type Group struct {
	Name  string `json:"name"`
	Ears  int    `json:"ears"`
	Found int    `json:"found"`
	Stats []Stat `json:"stats"`
}

// Summarize groups rows into normal and pathological ears.
func Summarize(rows []Row) []Group {
	var out []Group
	for _, name := range []string{"normal", "pathological"} {
		g := Group{Name: name}
		var sel []Row
		for _, r := range rows {
			if (r.Pathology == phantom.Normal) == (name == "normal") {
				sel = append(sel, r)
				g.Ears++
				if r.Found {
					g.Found++
				}
			}
		}
		for _, f := range Figures {
			st := Stat{Figure: f}
			for _, r := range sel {
				e, ok := r.Errors[f]
				if !ok {
					_, measured := r.Measured[f]
					if r.Found && measuredFigure(f) && comparable(r.Pathology, f) && !measured {
						st.Unmeasured++
					}
					continue
				}
				st.N++
				st.MAE += math.Abs(e)
				st.Bias += e
				st.MaxAbs = math.Max(st.MaxAbs, math.Abs(e))
				if t, ok := Targets[f]; ok && math.Abs(e) <= t {
					st.WithinTarget++
				}
			}
			if st.N > 0 {
				st.MAE /= float64(st.N)
				st.Bias /= float64(st.N)
			}
			g.Stats = append(g.Stats, st)
		}
		out = append(out, g)
	}
	return out
}

// measuredFigure is true for the cochlear figures a warning may replace.
func measuredFigure(f string) bool {
	return slices.Contains([]string{"a_value_mm", "turns", "height_mm"}, f)
}

// units of each figure's error, for the table.
var units = map[string]string{"a_value_mm": "mm", "turns": "turns", "height_mm": "mm", "cdl_lateral_wall_traced_pct": "%",
	"cdl_lateral_wall_alexiades_pct": "%", "cdl_lateral_wall_escude_pct": "%", "modiolar_axis_deg": "°", "modiolus_mm": "mm",
	"canal_radius_mm": "mm", "canal_normal_deg": "°"}

// TableRow is one figure of a group's error table, formatted: the one
// formatting of these tables, which measure_errors.md (WriteMarkdown) and
// otoseg evaluate's report.html both print, so that the two never differ.
type TableRow struct {
	Figure string // e.g. "a_value_mm (mm)"
	N      int
	MAE    string
	Bias   string // signed
	MaxAbs string
	// Within is "k/n (±target)" for figures with a target in Targets, else
	// empty.
	Within     string
	Unmeasured int
}

// Table formats a group's statistics, leaving out figures with neither an
// error nor an unmeasured ear (e.g. canal figures of a cohort without
// canals).
func Table(g Group) []TableRow {
	var out []TableRow
	for _, s := range g.Stats {
		if s.N == 0 && s.Unmeasured == 0 {
			continue
		}
		r := TableRow{Figure: fmt.Sprintf("%s (%s)", s.Figure, units[s.Figure]), N: s.N, MAE: fmt.Sprintf("%.3f", s.MAE),
			Bias: fmt.Sprintf("%+.3f", s.Bias), MaxAbs: fmt.Sprintf("%.3f", s.MaxAbs), Unmeasured: s.Unmeasured}
		if t, ok := Targets[s.Figure]; ok {
			r.Within = fmt.Sprintf("%d/%d (±%g)", s.WithinTarget, s.N, t)
		}
		out = append(out, r)
	}
	return out
}

// WriteMarkdown writes the groups as Markdown tables.
func WriteMarkdown(w io.Writer, title string, groups []Group) {
	fmt.Fprintf(w, "### %s\n\n", title)
	for _, g := range groups {
		fmt.Fprintf(w, "%s ears: %d (found %d)\n\n", g.Name, g.Ears, g.Found)
		fmt.Fprintln(w, "| figure | n | MAE | bias | max abs | within target | not measured |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
		for _, r := range Table(g) {
			fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %d |\n", r.Figure, r.N, r.MAE, r.Bias, r.MaxAbs, r.Within, r.Unmeasured)
		}
		fmt.Fprintln(w)
	}
}

// WriteCSV writes one line per ear and figure.
func WriteCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"case_id", "centre", "side", "pathology", "severity", "found", "figure", "truth", "measured", "error"})
	for _, r := range rows {
		for _, f := range Figures {
			e, ok := r.Errors[f]
			es := ""
			if ok {
				es = strconv.FormatFloat(e, 'f', 4, 64)
			}
			tr, meas := "", ""
			if v, ok := r.Truth[f]; ok {
				tr = strconv.FormatFloat(v, 'f', 4, 64)
			}
			if v, ok := r.Measured[f]; ok {
				meas = strconv.FormatFloat(v, 'f', 4, 64)
			}
			cw.Write([]string{r.Case, r.Centre, r.Side, r.Pathology, strconv.FormatFloat(r.Severity, 'f', 3, 64), strconv.FormatBool(r.Found), f, tr, meas, es})
		}
	}
	cw.Flush()
	return cw.Error()
}
