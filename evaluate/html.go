package evaluate

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/otoseg/otoseg/metrics"
	"github.com/otoseg/otoseg/stats"
)

// reportHTML is the report template; report.html.tmpl sits next to this
// file so that it can be read and edited as HTML.
//
//go:embed report.html.tmpl
var reportHTML string

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"p": fmtP, "f": fmtF, "g3": g3,
	"ci":  func(lo, hi *float64) string { return ciRange(*lo, *hi, "%.3f") },
	"pct": func(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) },
}).Parse(reportHTML))

// cell is one formatted summary in a table. SD and CI read "n/a" below
// Summary.MinNSDCI values: an SD of one ear is 0 and a bootstrap CI of one
// ear is a point, and printed as numbers they look like certainty.
type cell struct {
	N, Undefined, PredEmpty int
	MeanSD, MedIQR, CI      string
}

// stratRow is one group of a stratum in a stratified table.
type stratRow struct {
	Stratum, Group string
	N, Failed      int
	Cells          []cell
}

// structRow is one structure in an all-ears table.
type structRow struct {
	Structure string
	N, Failed int
	Cells     []cell
}

// structStrata is the stratified tables of one structure.
type structStrata struct {
	Structure string
	Ear, Case []stratRow
}

type caseLine struct {
	ID, Ear, Split, Subgroup, Pathology, Status string
	Dice, HD95, ASSD, NSD, VRef, VPred, Stray   string
}

type figView struct {
	Figure
	Data template.URL
}

type view struct {
	S    *Summary
	Figs []figView
	// StratMetrics head the stratified tables, OverlapMetrics and
	// DistanceMetrics the two all-ears accuracy tables.
	StratMetrics, OverlapMetrics, DistanceMetrics []string
	Overlap, Distance                             []structRow
	Strata                                        []structStrata
	Cases                                         []caseLine
	Headline                                      []string
	Worst                                         []worstView
	// Volume holds the volume agreement over all ears, VolumeGroups per
	// stratum group (Summary.VolumeBias, VolumeBiasByGroup); VolumeTable
	// the reference-versus-prediction table (Summary.VolumeAgreement).
	Volume       []volRow
	VolumeGroups []volRow
	VolumeTable  []vaRow
	// StrayLine is the sentence on Summary.Stray; Stray and StrayGroups its
	// table over all ears and per stratum group (Summary.StrayByGroup).
	StrayLine   string
	Stray       []strayRow
	StrayGroups []strayRow
	Cohort      []cohortRow
	Pathologies []cohortRow
	// Simulated is set when manual times are simulated; ManualLabel is
	// "manual" or "manual (simulated)".
	Simulated   bool
	ManualLabel string
	Time        *timeView
	LikertDice  []likertDiceRow
	// FailedLine says how many ears failed and that distances leave them out.
	FailedLine string
	// QC is the quality-control section (nil when the sidecars hold no QC
	// signals); Measures the measurement-error tables (empty without
	// --measure), formatted as measure_errors.md formats them.
	QC       *qcView
	Measures []measureGroupView
	// Targets lists the measurement targets of truth.Targets, for the
	// caption.
	Targets string
}

// strayRow is one group's stray pieces in a table.
type strayRow struct {
	Stratum, Group                string
	Ears, Undefined, WithStray, N int
	MM3, Median, Max, Farthest    string
}

func strayRowOf(stratum, group string, s Stray) strayRow {
	opt := func(x *float64) string {
		if x == nil {
			return "n/a"
		}
		return g3(*x)
	}
	r := strayRow{Stratum: stratum, Group: group, Ears: s.Ears, Undefined: s.Undefined, WithStray: s.EarsWithStrayPieces,
		N: s.Pieces, MM3: g3(s.VolumeMM3), Median: opt(s.MedianMM), Max: opt(s.MaxMM), Farthest: "–"}
	if s.FarthestCase != "" {
		r.Farthest = s.FarthestCase + " " + s.FarthestEar
	}
	return r
}

// volRow is one structure's volume agreement in a table, in percent. The
// cells are template.HTML because html/template would otherwise write the
// sign of "+3.2%" as "&#43;", which is right in a browser but unreadable to
// anyone grepping the report; they hold only digits, signs, "%" and "n/a".
type volRow struct {
	Stratum, Group, Structure string
	N, Excluded               int
	Mean, CI, Median, SD      template.HTML
}

// volRows formats a structure-keyed volume bias in the order of
// metrics.Structures (the JSON map has no order). Cells that summary.json
// leaves null (too few ears) read "n/a".
func volRows(stratum, group string, vb map[string]VolumeBias) []volRow {
	pct := func(x *float64, sign bool) template.HTML {
		switch {
		case x == nil:
			return "n/a"
		case sign:
			return template.HTML(fmt.Sprintf("%+.1f%%", 100**x))
		}
		return template.HTML(fmt.Sprintf("%.1f%%", 100**x))
	}
	var out []volRow
	for _, st := range metrics.Structures {
		b, ok := vb[st.Name]
		if !ok {
			continue
		}
		r := volRow{Stratum: stratum, Group: group, Structure: st.Name, N: b.N, Excluded: b.Excluded,
			Mean: pct(b.Mean, true), Median: pct(b.Median, true), SD: pct(b.SD, false), CI: "n/a"}
		if b.CILow != nil && b.CIHigh != nil {
			r.CI = pct(b.CILow, true) + " to " + pct(b.CIHigh, true)
		}
		out = append(out, r)
	}
	return out
}

// vaRow is one structure of the reference-versus-prediction volume table.
// Cells are template.HTML for the reason given at volRow (signs).
type vaRow struct {
	Structure                 string
	N, Excluded, PredEmpty    int
	Ref, Pred, Bias, LoA      template.HTML
	ICC, Pearson, PearsonP    template.HTML
	Spearman, SpearmanP, Note template.HTML
}

func vaRows(va map[string]VolumeAgreement) []vaRow {
	na := template.HTML("n/a")
	meanSD := func(m, sd *float64) template.HTML {
		switch {
		case m == nil:
			return na
		case sd == nil:
			return template.HTML(fmt.Sprintf("%.1f (SD n/a)", *m))
		}
		return template.HTML(fmt.Sprintf("%.1f ± %.1f", *m, *sd))
	}
	var out []vaRow
	for _, st := range metrics.Structures {
		a, ok := va[st.Name]
		if !ok {
			continue
		}
		r := vaRow{Structure: st.Name, N: a.N, Excluded: a.Excluded, PredEmpty: a.PredEmpty,
			Ref: meanSD(a.RefMean, a.RefSD), Pred: meanSD(a.PredMean, a.PredSD), Bias: na, LoA: na,
			ICC: na, Pearson: na, PearsonP: na, Spearman: na, SpearmanP: na, Note: template.HTML(template.HTMLEscapeString(a.Note))}
		if b := a.BlandAltman; b != nil {
			r.Bias = template.HTML(fmt.Sprintf("%+.1f", b.Bias))
			r.LoA = template.HTML(fmt.Sprintf("%+.1f to %+.1f", b.LoALow, b.LoAHigh))
		}
		if c := a.ICC; c != nil {
			r.ICC = template.HTML(fmt.Sprintf("%.3f<br><span class=\"ci\">(%s)</span>", c.ICC, ciRange(c.CILow, c.CIHigh, "%.3f")))
		}
		if c := a.Pearson; c != nil {
			r.Pearson = template.HTML(fmt.Sprintf("%.3f", c.R))
			if c.CILow != nil {
				r.Pearson += template.HTML(fmt.Sprintf(" (%s)", ciRange(*c.CILow, *c.CIHigh, "%.3f")))
			}
			r.PearsonP = template.HTML(fmtP(&c.PValue))
		}
		if c := a.Spearman; c != nil {
			r.Spearman = template.HTML(fmt.Sprintf("%.3f", c.R))
			r.SpearmanP = template.HTML(fmtP(&c.PValue))
		}
		out = append(out, r)
	}
	return out
}

// cohortRow is one centre, pathology or the total in the cohort tables.
type cohortRow struct {
	Name, Ears, Splits, Subgroups, Pathologies, Centers string
	Scanners, InPlane, Slice, Manual                    string
	Cases                                               int
}

// cohortRowOf formats one group; the total row names only the number of
// scanners, which the centre rows list.
func cohortRowOf(g CohortGroup, total bool) cohortRow {
	list := func(c []Count) string {
		var parts []string
		for _, x := range c {
			parts = append(parts, fmt.Sprintf("%s %d", x.Name, x.N))
		}
		return strings.Join(parts, ", ")
	}
	rng := func(r *Range) string {
		switch {
		case r == nil:
			return "–"
		case r.Min == r.Max:
			return fmt.Sprintf("%g", r.Min)
		}
		return fmt.Sprintf("%g–%g", r.Min, r.Max)
	}
	r := cohortRow{Name: g.Name, Cases: g.Cases, Ears: fmt.Sprintf("%d (%d L, %d R)", g.Ears, g.LeftEars, g.RightEars),
		Splits: list(g.Splits), Subgroups: list(g.Subgroups), Pathologies: list(g.Pathologies), Centers: list(g.Centers),
		Scanners: strings.Join(g.Scanners, "; "), InPlane: rng(g.InPlaneMM), Slice: rng(g.SliceMM), Manual: fmt.Sprint(g.ManualTimes)}
	switch {
	case r.Scanners == "":
		r.Scanners = "–"
	case total && len(g.Scanners) > 1:
		r.Scanners = fmt.Sprintf("%d scanners / protocols (see the centres)", len(g.Scanners))
	}
	switch {
	case g.ManualSimulated == g.ManualTimes && g.ManualTimes > 0:
		r.Manual += " (simulated)"
	case g.ManualSimulated > 0:
		r.Manual += fmt.Sprintf(" (%d simulated)", g.ManualSimulated)
	}
	return r
}

// timeView is the processing-time table.
type timeView struct {
	Auto, Manual, Speedup cell
}

// likertDiceRow is the Dice of the cases rated at one Likert level.
type likertDiceRow struct {
	Level int
	Label string
	cell
}

type worstView struct {
	CaseID, Ear, Split, Subgroup, Pathology, Status string
	Dice, HD95, NoCT                                string
	Data                                            template.URL
}

func (v *view) worst(res *Result) {
	for _, w := range res.worst {
		r := w.row
		v.Worst = append(v.Worst, worstView{CaseID: r.Case.ID, Ear: r.Ear, Split: r.Case.Split, Subgroup: r.Case.Subgroup,
			Pathology: r.Case.Pathology, Status: string(r.Status), Dice: g3(r.Dice), HD95: g3(r.HD95), NoCT: w.noCT,
			Data: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(w.png))})
	}
}

// manualWord is "manual" or, when the manual times are simulated,
// "simulated manual", for the sentences of the report.
func (v *view) manualWord() string {
	if v.Simulated {
		return "simulated manual"
	}
	return "manual"
}

// headline writes the key results as sentences, each naming its test.
func (v *view) headline() {
	lab := func(stratum, group string) (MetricSummary, bool) {
		return v.find("ear", "labyrinth", "dice", stratum, group)
	}
	if m, ok := lab("all", "all"); ok && m.N > 0 {
		line := fmt.Sprintf("Labyrinth Dice per ear: median %.3f [IQR %.3f–%.3f], ", m.Median, m.Q1, m.Q3)
		if m.N >= v.S.MinNSDCI {
			line += fmt.Sprintf("mean %.3f (95%% CI %.3f–%.3f), ", m.Mean, m.CILow, m.CIHigh)
		} else {
			line += fmt.Sprintf("mean %.3f (CI n/a), ", m.Mean)
		}
		v.Headline = append(v.Headline, line+fmt.Sprintf("%d ears of %d cases.", m.N, v.S.CasesEvaluated))
	}
	if a, ok := v.S.VolumeAgreement["labyrinth"]; ok && a.ICC != nil {
		line := fmt.Sprintf("Labyrinth volume per ear: ICC(2,1) %.3f (95%% CI %s)", a.ICC.ICC, ciRange(a.ICC.CILow, a.ICC.CIHigh, "%.3f"))
		if b := a.BlandAltman; b != nil {
			line += fmt.Sprintf(", Bland-Altman bias %+.1f mm³ (limits of agreement %+.1f to %+.1f mm³)", b.Bias, b.LoALow, b.LoAHigh)
		}
		v.Headline = append(v.Headline, line+fmt.Sprintf(", %d ears.", a.N))
	}
	for _, c := range []struct{ stratum, g1, g2, label string }{
		{"cohort", CohortInternal, CohortExternal, "Training centres (train + validation) versus external centre"},
		{"subgroup", "normal", "pathological", "Normal versus pathological ears"},
	} {
		a, ok1 := lab(c.stratum, c.g1)
		b, ok2 := lab(c.stratum, c.g2)
		if !ok1 || !ok2 || a.N == 0 || b.N == 0 {
			continue
		}
		line := fmt.Sprintf("%s: median Dice %.3f (n=%d) versus %.3f (n=%d)", c.label, a.Median, a.N, b.Median, b.N)
		for _, t := range v.S.Tests {
			if t.Name == fmt.Sprintf("labyrinth dice per ear: %s vs %s", c.g1, c.g2) && t.PValue != nil {
				line += fmt.Sprintf("; %s (%s), p = %s, Holm-adjusted p = %s", t.Test, t.Method, fmtP(t.PValue), fmtP(t.PHolm))
			}
		}
		v.Headline = append(v.Headline, line+".")
	}
	if v.FailedLine != "" {
		v.Headline = append(v.Headline, v.FailedLine)
	}
	if st := v.S.Stray; st.Ears+st.Undefined > 0 {
		v.Headline = append(v.Headline, strayLine(st))
	}
	if v.QC != nil {
		v.Headline = append(v.Headline, qcLine(v.QC))
	}
	if t := v.S.Time; t != nil && t.Paired > 0 {
		line := fmt.Sprintf("Processing time: automated median %.0f s versus %s %.0f s, speed-up of medians %.1f× (%d paired cases)",
			t.Automated.Median, v.manualWord(), t.Manual.Median, t.SpeedupOfMedians, t.Paired)
		if t.Test.PValue != nil {
			line += fmt.Sprintf("; %s (%s), p = %s, Holm-adjusted p = %s", t.Test.Test, t.Test.Method, fmtP(t.Test.PValue), fmtP(t.Test.PHolm))
		}
		if v.Simulated {
			line += fmt.Sprintf(". The manual times are simulated, not measured (%d of %d cases), so the speed-up is illustrative only", t.ManualSimulated, t.Manual.N)
		}
		v.Headline = append(v.Headline, line+".")
	}
	if l := v.S.Likert; l != nil && l.Ratings > 0 {
		v.Headline = append(v.Headline, likertLine(l))
	}
	if n := len(v.S.Flags); n > 0 {
		v.Headline = append(v.Headline, fmt.Sprintf("%d row(s) have an empty reference or prediction; see Flags.", n))
	}
	v.Headline = append(v.Headline, v.S.MultipleComparisons.Statement)
}

// likertLine is the key-result sentence on the ratings.
func likertLine(l *LikertSummary) string {
	line := fmt.Sprintf("Likert (%d ratings): %.0f%% usable as is, %.0f%% minor corrections, %.0f%% major corrections, %.0f%% indeterminate/unusable",
		l.Ratings, 100*l.Overall[0].Share, 100*l.Overall[1].Share, 100*l.Overall[2].Share, 100*l.Overall[3].Share)
	ci := func(a Agreement) string {
		if a.CILow == nil {
			return ""
		}
		return fmt.Sprintf(" (95%% CI %s)", ciRange(*a.CILow, *a.CIHigh, "%.2f"))
	}
	for _, a := range l.Agreement {
		if a.Kappa != nil && len(a.Readers) == 2 && strings.Contains(a.Kind, "quadratic") {
			line += fmt.Sprintf("; %s %s–%s %.2f%s", a.Kind, a.Readers[0], a.Readers[1], *a.Kappa, ci(a))
			break
		}
	}
	for _, a := range l.Agreement {
		if a.Kappa != nil && len(a.Readers) > 2 {
			line += fmt.Sprintf("; Fleiss' kappa %.2f%s (%d readers)", *a.Kappa, ci(a), len(a.Readers))
		}
	}
	return line + "."
}

// failedLine counts the failed ears, which the distances leave out.
func failedLine(s *Summary) string {
	f, ok := s.FailedEars["labyrinth"]
	if !ok || f.Ears == 0 {
		return ""
	}
	if f.Failed == 0 {
		return fmt.Sprintf("Failed ears (empty predicted labyrinth): none of %d.", f.Ears)
	}
	return fmt.Sprintf("Failed ears (empty predicted labyrinth): %d of %d (%s). They count as Dice 0 but have no surface distance, so HD, HD95 and ASSD leave them out and look better than the method is.",
		f.Failed, f.Ears, strings.Join(f.List, ", "))
}

var (
	stratMetrics    = []string{"dice", "hd95_mm", "assd_mm", "nsd"}
	overlapMetrics  = []string{"dice", "iou", "sensitivity", "precision", "nsd"}
	distanceMetrics = []string{"hd_mm", "hd95_mm", "assd_mm"}
)

func (v *view) find(level, structure, metric, stratum, group string) (MetricSummary, bool) {
	for _, m := range v.S.Metrics {
		if m.Level == level && m.Structure == structure && m.Metric == metric && m.Stratum == stratum && m.Group == group {
			return m, true
		}
	}
	return MetricSummary{}, false
}

// fmtCell formats a summary; SD and CI are "n/a" below minN values.
func fmtCell(m MetricSummary, minN int) cell {
	c := cell{N: m.N, Undefined: m.Undefined, PredEmpty: m.PredEmpty}
	if m.N == 0 {
		c.MeanSD, c.MedIQR, c.CI = "–", "–", "–"
		return c
	}
	if m.N < minN {
		c.MedIQR = g3(m.Median) + " [IQR n/a]"
		c.MeanSD = g3(m.Mean) + " (SD n/a)"
		c.CI = "CI n/a"
		return c
	}
	c.MedIQR = fmt.Sprintf("%s [%s]", g3(m.Median), ciRange(m.Q1, m.Q3, "%.3f"))
	c.MeanSD = fmt.Sprintf("%s ± %s", g3(m.Mean), g3(m.SD))
	c.CI = ciRange(m.CILow, m.CIHigh, "%.3f")
	return c
}

// ciRange prints an interval: "0.81–0.93", but "−0.43 to 0.83" when a
// bound is negative, where an en dash would read as a minus sign.
func ciRange(lo, hi float64, format string) string {
	f := func(x float64) string {
		if format == "%.3f" {
			return g3(x)
		}
		return fmt.Sprintf(format, x)
	}
	if lo < 0 || hi < 0 {
		return f(lo) + " to " + f(hi)
	}
	return f(lo) + "–" + f(hi)
}

// g3 prints a metric with three decimals (enough for Dice and for mm).
func g3(x float64) string {
	if math.IsNaN(x) {
		return "NA"
	}
	if math.Abs(x) >= 1000 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.3f", x)
}

func fmtP(p *float64) string {
	if p == nil {
		return "–"
	}
	if *p < 0.001 {
		return fmt.Sprintf("%.2e", *p)
	}
	return fmt.Sprintf("%.3f", *p)
}

func fmtF(p *float64) string {
	if p == nil {
		return "–"
	}
	return fmt.Sprintf("%.3f", *p)
}

// renderHTML builds the view in stages (figures, accuracy tables, strata,
// volume, stray, cohort, time, Likert, key results, pictures) and executes
// the template.
func renderHTML(res *Result, figs []Figure) ([]byte, error) {
	v := &view{S: res.Summary, StratMetrics: stratMetrics, OverlapMetrics: overlapMetrics, DistanceMetrics: distanceMetrics}
	if v.S.MinNSDCI == 0 {
		v.S.MinNSDCI = minVolumeBiasN
	}
	for _, f := range figs {
		v.Figs = append(v.Figs, figView{f, template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(f.PNG))})
	}
	v.accuracyTables()
	v.strataTables()
	v.caseLines(res.Rows)
	v.Volume = volRows("all", "all", v.S.VolumeBias)
	for _, g := range v.S.VolumeBiasByGroup {
		v.VolumeGroups = append(v.VolumeGroups, volRows(g.Stratum, g.Group, g.VolumeBias)...)
	}
	v.VolumeTable = vaRows(v.S.VolumeAgreement)
	v.StrayLine = strayLine(v.S.Stray)
	v.Stray = []strayRow{strayRowOf("all", "all", v.S.Stray)}
	for _, g := range v.S.StrayByGroup {
		v.StrayGroups = append(v.StrayGroups, strayRowOf(g.Stratum, g.Group, g.Stray))
	}
	v.cohortTables()
	v.timeTable()
	v.likertDice()
	v.FailedLine = failedLine(v.S)
	v.QC = qcViewOf(res.qc)
	v.Measures = measureViewOf(res.measures)
	v.Targets = targetsLine()
	v.headline()
	v.worst(res)
	var b bytes.Buffer
	if err := reportTmpl.Execute(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// accuracyTables fills the all-ears overlap and distance tables.
func (v *view) accuracyTables() {
	for _, st := range metrics.Structures {
		fail := 0
		if m, ok := v.find("ear", st.Name, "dice", "all", "all"); ok {
			fail = m.PredEmpty
		}
		o := structRow{Structure: st.Name, Failed: fail}
		for _, m := range v.OverlapMetrics {
			ms, _ := v.find("ear", st.Name, m, "all", "all")
			o.Cells = append(o.Cells, fmtCell(ms, v.S.MinNSDCI))
		}
		o.N = o.Cells[0].N
		d := structRow{Structure: st.Name, Failed: fail, N: o.N}
		for _, m := range v.DistanceMetrics {
			ms, _ := v.find("ear", st.Name, m, "all", "all")
			d.Cells = append(d.Cells, fmtCell(ms, v.S.MinNSDCI))
		}
		v.Overlap, v.Distance = append(v.Overlap, o), append(v.Distance, d)
	}
}

// strataTables fills one stratified table per structure, per ear and per
// case, in the order of summary.json's metrics.
func (v *view) strataTables() {
	for _, st := range metrics.Structures {
		ss := structStrata{Structure: st.Name}
		for _, m := range v.S.Metrics {
			if m.Structure != st.Name || m.Metric != "dice" {
				continue
			}
			row := stratRow{Stratum: m.Stratum, Group: m.Group, N: m.N, Failed: m.PredEmpty}
			for _, mn := range v.StratMetrics {
				ms, _ := v.find(m.Level, st.Name, mn, m.Stratum, m.Group)
				row.Cells = append(row.Cells, fmtCell(ms, v.S.MinNSDCI))
			}
			if m.Level == "ear" {
				ss.Ear = append(ss.Ear, row)
			} else {
				ss.Case = append(ss.Case, row)
			}
		}
		v.Strata = append(v.Strata, ss)
	}
}

// caseLines fills the per-case labyrinth table.
func (v *view) caseLines(rows []CaseRow) {
	for _, r := range rows {
		if r.Structure != "labyrinth" {
			continue
		}
		v.Cases = append(v.Cases, caseLine{ID: r.Case.ID, Ear: r.Ear, Split: r.Case.Split, Subgroup: r.Case.Subgroup,
			Pathology: r.Case.Pathology, Status: string(r.Status), Dice: g3(r.Dice), HD95: g3(r.HD95), ASSD: g3(r.ASSD),
			NSD: g3(r.NSD), VRef: g3(r.VolumeRef), VPred: g3(r.VolumePred), Stray: g3(r.StrayMM)})
	}
}

// cohortTables fills the cohort tables (per centre with the total, per
// pathology).
func (v *view) cohortTables() {
	co := v.S.Cohort
	if co == nil {
		return
	}
	for _, g := range co.Centers {
		v.Cohort = append(v.Cohort, cohortRowOf(g, false))
	}
	v.Cohort = append(v.Cohort, cohortRowOf(co.Total, true))
	for _, g := range co.Pathologies {
		v.Pathologies = append(v.Pathologies, cohortRowOf(g, false))
	}
}

// timeTable formats the processing-time summaries and the simulated flag.
func (v *view) timeTable() {
	v.ManualLabel = "manual"
	t := v.S.Time
	if t == nil {
		return
	}
	v.Simulated = t.ManualSimulated > 0
	if v.Simulated {
		v.ManualLabel = "manual (simulated)"
	}
	c := func(d stats.Summary) cell { return fmtCell(MetricSummary{Summary: d}, v.S.MinNSDCI) }
	v.Time = &timeView{Auto: c(t.Automated), Manual: c(t.Manual), Speedup: c(t.PerCaseSpeedup)}
}

// likertDice formats the Dice of the cases at each Likert level.
func (v *view) likertDice() {
	if v.S.Likert == nil {
		return
	}
	for _, d := range v.S.Likert.DiceByLevel {
		v.LikertDice = append(v.LikertDice, likertDiceRow{Level: d.Level, Label: d.Label, cell: fmtCell(MetricSummary{Summary: d.Summary}, v.S.MinNSDCI)})
	}
}
