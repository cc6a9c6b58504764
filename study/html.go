package study

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"

	"github.com/otoseg/otoseg/metrics"
)

// cell is one formatted summary in a table.
type cell struct {
	N, Undefined   int
	MeanSD, MedIQR string
	CI             string
}

type stratRow struct {
	Stratum, Group string
	Cells          []cell
}

type structRow struct {
	Structure string
	Cells     []cell
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
	S           *Summary
	Figs        []figView
	MetricNames []string
	Structures  []structRow
	Strata      []stratRow
	CaseStrata  []stratRow
	Cases       []caseLine
	Headline    []string
	Worst       []worstView
	// Volume holds the volume agreement over all ears, VolumeGroups per
	// stratum group (Summary.VolumeBias, VolumeBiasByGroup).
	Volume       []volRow
	VolumeGroups []volRow
	// StrayLine is the sentence on Summary.Stray; Stray and StrayGroups its
	// table over all ears and per stratum group (Summary.StrayByGroup).
	StrayLine   string
	Stray       []strayRow
	StrayGroups []strayRow
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

type worstView struct {
	CaseID, Ear, Split, Subgroup, Pathology, Status string
	Dice, HD95                                      string
	Data                                            template.URL
}

// worstEars is how many of the lowest-Dice ears the report pictures.
const worstEars = 6

func (v *view) worst(res *Result) {
	var rows []CaseRow
	for _, r := range res.Rows {
		if r.Ear != metrics.EarBoth && r.Structure == "labyrinth" && res.pictures[r.Case.ID][r.Ear] != nil {
			rows = append(rows, r)
		}
	}
	slices.SortStableFunc(rows, func(a, b CaseRow) int { return cmp.Compare(a.Dice, b.Dice) })
	for _, r := range rows[:min(worstEars, len(rows))] {
		v.Worst = append(v.Worst, worstView{CaseID: r.Case.ID, Ear: r.Ear, Split: r.Case.Split, Subgroup: r.Case.Subgroup,
			Pathology: r.Case.Pathology, Status: string(r.Status), Dice: g3(r.Dice), HD95: g3(r.HD95),
			Data: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(res.pictures[r.Case.ID][r.Ear]))})
	}
}

// headline writes the key results as sentences, each naming its test.
func (v *view) headline() {
	lab := func(stratum, group string) (MetricSummary, bool) {
		return v.find("ear", "labyrinth", "dice", stratum, group)
	}
	if m, ok := lab("all", "all"); ok && m.N > 0 {
		v.Headline = append(v.Headline, fmt.Sprintf("Labyrinth Dice per ear: median %.3f [IQR %.3f–%.3f], mean %.3f (95%% CI %.3f–%.3f), %d ears of %d cases.",
			m.Median, m.Q1, m.Q3, m.Mean, m.CILow, m.CIHigh, m.N, v.S.CasesEvaluated))
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
				line += fmt.Sprintf("; %s (%s), p = %s", t.Test, t.Method, fmtP(t.PValue))
			}
		}
		v.Headline = append(v.Headline, line+".")
	}
	if st := v.S.Stray; st.Ears+st.Undefined > 0 {
		v.Headline = append(v.Headline, strayLine(st))
	}
	if t := v.S.Time; t != nil && t.Paired > 0 {
		line := fmt.Sprintf("Processing time: automated median %.0f s versus manual %.0f s, speed-up of medians %.1f× (%d paired cases)",
			t.Automated.Median, t.Manual.Median, t.SpeedupOfMedians, t.Paired)
		if t.Test.PValue != nil {
			line += fmt.Sprintf("; %s (%s), p = %s", t.Test.Test, t.Test.Method, fmtP(t.Test.PValue))
		}
		v.Headline = append(v.Headline, line+".")
	}
	if l := v.S.Likert; l != nil && l.Ratings > 0 {
		line := fmt.Sprintf("Likert (%d ratings): %.0f%% usable as is, %.0f%% minor corrections, %.0f%% major corrections, %.0f%% indeterminate/unusable",
			l.Ratings, 100*l.Overall[0].Share, 100*l.Overall[1].Share, 100*l.Overall[2].Share, 100*l.Overall[3].Share)
		for _, a := range l.Agreement {
			if a.Kappa != nil && len(a.Readers) == 2 && strings.Contains(a.Kind, "quadratic") {
				line += fmt.Sprintf("; %s %s–%s %.2f", a.Kind, a.Readers[0], a.Readers[1], *a.Kappa)
				break
			}
		}
		for _, a := range l.Agreement {
			if a.Kappa != nil && len(a.Readers) > 2 {
				line += fmt.Sprintf("; Fleiss' kappa %.2f (%d readers)", *a.Kappa, len(a.Readers))
			}
		}
		v.Headline = append(v.Headline, line+".")
	}
	if n := len(v.S.Flags); n > 0 {
		v.Headline = append(v.Headline, fmt.Sprintf("%d row(s) have an empty reference or prediction; see Flags.", n))
	}
}

var reportMetrics = []string{"dice", "hd95_mm", "assd_mm", "nsd"}

func (v *view) find(level, structure, metric, stratum, group string) (MetricSummary, bool) {
	for _, m := range v.S.Metrics {
		if m.Level == level && m.Structure == structure && m.Metric == metric && m.Stratum == stratum && m.Group == group {
			return m, true
		}
	}
	return MetricSummary{}, false
}

func fmtCell(m MetricSummary) cell {
	c := cell{N: m.N, Undefined: m.Undefined}
	if m.N == 0 {
		c.MeanSD, c.MedIQR, c.CI = "–", "–", "–"
		return c
	}
	c.MeanSD = fmt.Sprintf("%s ± %s", g3(m.Mean), g3(m.SD))
	c.MedIQR = fmt.Sprintf("%s [%s–%s]", g3(m.Median), g3(m.Q1), g3(m.Q3))
	c.CI = fmt.Sprintf("%s–%s", g3(m.CILow), g3(m.CIHigh))
	return c
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

func renderHTML(res *Result, figs []Figure) ([]byte, error) {
	v := &view{S: res.Summary, MetricNames: reportMetrics}
	for _, f := range figs {
		v.Figs = append(v.Figs, figView{f, template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(f.PNG))})
	}
	for _, st := range metrics.Structures {
		r := structRow{Structure: st.Name}
		for _, m := range reportMetrics {
			ms, _ := v.find("ear", st.Name, m, "all", "all")
			r.Cells = append(r.Cells, fmtCell(ms))
		}
		v.Structures = append(v.Structures, r)
	}
	seen := map[[3]string]bool{}
	for _, m := range v.S.Metrics {
		if m.Structure != "labyrinth" || m.Metric != "dice" {
			continue
		}
		k := [3]string{m.Level, m.Stratum, m.Group}
		if seen[k] {
			continue
		}
		seen[k] = true
		row := stratRow{Stratum: m.Stratum, Group: m.Group}
		for _, mn := range reportMetrics {
			ms, _ := v.find(m.Level, "labyrinth", mn, m.Stratum, m.Group)
			row.Cells = append(row.Cells, fmtCell(ms))
		}
		if m.Level == "ear" {
			v.Strata = append(v.Strata, row)
		} else {
			v.CaseStrata = append(v.CaseStrata, row)
		}
	}
	for _, r := range res.Rows {
		if r.Structure != "labyrinth" {
			continue
		}
		v.Cases = append(v.Cases, caseLine{ID: r.Case.ID, Ear: r.Ear, Split: r.Case.Split, Subgroup: r.Case.Subgroup,
			Pathology: r.Case.Pathology, Status: string(r.Status), Dice: g3(r.Dice), HD95: g3(r.HD95), ASSD: g3(r.ASSD),
			NSD: g3(r.NSD), VRef: g3(r.VolumeRef), VPred: g3(r.VolumePred), Stray: g3(r.StrayMM)})
	}
	v.Volume = volRows("all", "all", v.S.VolumeBias)
	for _, g := range v.S.VolumeBiasByGroup {
		v.VolumeGroups = append(v.VolumeGroups, volRows(g.Stratum, g.Group, g.VolumeBias)...)
	}
	v.StrayLine = strayLine(v.S.Stray)
	v.Stray = []strayRow{strayRowOf("all", "all", v.S.Stray)}
	for _, g := range v.S.StrayByGroup {
		v.StrayGroups = append(v.StrayGroups, strayRowOf(g.Stratum, g.Group, g.Stray))
	}
	v.headline()
	v.worst(res)
	var b bytes.Buffer
	if err := reportTmpl.Execute(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"p": fmtP, "f": fmtF, "g3": g3,
	"pct": func(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) },
}).Parse(reportHTML))

const reportHTML = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>otoseg validation report</title>
<style>
body{font-family:"Liberation Sans",Arial,Helvetica,sans-serif;margin:24px auto;max-width:1200px;padding:0 12px;color:#222;line-height:1.4}
.ci{color:#555}
h1{font-size:24px;margin-bottom:4px}h2{font-size:19px;border-bottom:2px solid #1f77b4;padding-bottom:3px;margin-top:30px}
h3{font-size:15px;margin-bottom:4px}
table{border-collapse:collapse;margin:8px 0 14px;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
td.n{white-space:nowrap}
th{background:#eef3f8}td.n{text-align:right;font-variant-numeric:tabular-nums}
.sub{color:#555;font-size:13px}.figs{display:flex;flex-wrap:wrap;gap:18px}
figure{margin:0;max-width:100%}figure img{max-width:100%;border:1px solid #ddd}figcaption{font-size:12px;color:#444;max-width:520px}
.warn{color:#a33}dl{font-size:13px}dt{font-weight:bold;margin-top:6px}dd{margin-left:18px}
details{margin:8px 0}
</style></head><body>
<h1>otoseg validation report</h1>
<p class="sub">{{if .S.Inputs.Reference}}Reference <code>{{.S.Inputs.Reference}}</code> against prediction <code>{{.S.Inputs.Predictions}}</code>.{{else}}{{.S.CasesEvaluated}} cases evaluated from <code>{{.S.Inputs.Manifest}}</code> against predictions in <code>{{.S.Inputs.Predictions}}</code>.{{end}}
NSD tolerance {{.S.Inputs.ToleranceMM}} mm; bootstrap {{.S.Inputs.BootstrapResamples}} resamples, seed {{.S.Inputs.BootstrapSeed}}.
{{with .S.SkippedNoReference}}<span class="warn">Skipped (no reference label): {{range $i, $c := .}}{{if $i}}, {{end}}{{$c}}{{end}}.</span>{{end}}
{{with .S.EmptyFromSidecar}}<span class="warn">No label map, only a segmentation sidecar (no ear found), evaluated as empty predictions: {{range $i, $c := .}}{{if $i}}, {{end}}{{$c}}{{end}}.</span>{{end}}</p>

<h2>Key results</h2>
<ul>{{range .Headline}}<li>{{.}}</li>{{end}}</ul>

<h2>Accuracy per structure (one value per ear)</h2>
<table><tr><th rowspan="2">structure</th><th rowspan="2">n</th>{{range .MetricNames}}<th colspan="2">{{.}}</th>{{end}}</tr>
<tr>{{range .MetricNames}}<th>median [IQR]</th><th>mean ± SD<br>(95% CI)</th>{{end}}</tr>
{{range .Structures}}<tr><td>{{.Structure}}</td><td class="n">{{(index .Cells 0).N}}</td>{{range .Cells}}<td class="n">{{.MedIQR}}</td><td class="n">{{.MeanSD}}<br><span class="ci">({{.CI}})</span>{{if .Undefined}}<br><span class="warn">{{.Undefined}} NA</span>{{end}}</td>{{end}}</tr>
{{end}}</table>

<h2>Volume agreement (one value per ear)</h2>
<p class="sub">RVD = (V<sub>pred</sub> − V<sub>ref</sub>)/V<sub>ref</sub> per ear, in percent (negative: the prediction is smaller than the reference); mean with its 95% bootstrap CI as for Dice, median and SD over the ears. Ears with a zero reference volume for a structure (e.g. aplastic canals) have no RVD: they are excluded from that structure and counted under "excluded". SD and CI are n/a for fewer than 3 ears.</p>
<table><tr><th>structure</th><th>n</th><th>excluded</th><th>mean RVD</th><th>95% CI</th><th>median</th><th>SD</th></tr>
{{range .Volume}}<tr><td>{{.Structure}}</td><td class="n">{{.N}}</td><td class="n">{{.Excluded}}</td><td class="n">{{.Mean}}</td><td class="n">{{.CI}}</td><td class="n">{{.Median}}</td><td class="n">{{.SD}}</td></tr>
{{end}}</table>
{{with .VolumeGroups}}<details><summary>Volume agreement by stratum</summary>
<table><tr><th>stratum</th><th>group</th><th>structure</th><th>n</th><th>excluded</th><th>mean RVD</th><th>95% CI</th><th>median</th><th>SD</th></tr>
{{range .}}<tr><td>{{.Stratum}}</td><td>{{.Group}}</td><td>{{.Structure}}</td><td class="n">{{.N}}</td><td class="n">{{.Excluded}}</td><td class="n">{{.Mean}}</td><td class="n">{{.CI}}</td><td class="n">{{.Median}}</td><td class="n">{{.SD}}</td></tr>
{{end}}</table></details>{{end}}

<h2>Stray pieces (labyrinth, one value per ear)</h2>
<p>{{.StrayLine}}</p>
<p class="sub">A piece is a 26-connected component of the predicted labyrinth of an ear. Its distance to the reference labyrinth is 0 when it overlaps or touches it, else the smallest distance between voxel centres (mm); stray_mm is the largest over the pieces of the ear (cases.csv). A stray piece is one more than {{.S.Stray.ThresholdMM}} mm away: a separate false-positive blob, not disagreement about a boundary, and a correction for the reader. Ears with an empty prediction have no stray_mm (NA).</p>
<table><tr><th>ears</th><th>with stray pieces</th><th>stray pieces</th><th>stray mm³</th><th>median stray mm</th><th>max stray mm</th><th>farthest</th><th>NA</th></tr>
{{range .Stray}}<tr><td class="n">{{.Ears}}</td><td class="n">{{.WithStray}}</td><td class="n">{{.N}}</td><td class="n">{{.MM3}}</td><td class="n">{{.Median}}</td><td class="n">{{.Max}}</td><td>{{.Farthest}}</td><td class="n">{{.Undefined}}</td></tr>
{{end}}</table>
{{with .StrayGroups}}<details><summary>Stray pieces by stratum</summary>
<table><tr><th>stratum</th><th>group</th><th>ears</th><th>with stray pieces</th><th>stray pieces</th><th>stray mm³</th><th>median stray mm</th><th>max stray mm</th><th>farthest</th><th>NA</th></tr>
{{range .}}<tr><td>{{.Stratum}}</td><td>{{.Group}}</td><td class="n">{{.Ears}}</td><td class="n">{{.WithStray}}</td><td class="n">{{.N}}</td><td class="n">{{.MM3}}</td><td class="n">{{.Median}}</td><td class="n">{{.Max}}</td><td>{{.Farthest}}</td><td class="n">{{.Undefined}}</td></tr>
{{end}}</table></details>{{end}}

<h2>Labyrinth by stratum</h2>
<h3>Per ear</h3>
<table><tr><th rowspan="2">stratum</th><th rowspan="2">group</th><th rowspan="2">n</th>{{range .MetricNames}}<th colspan="2">{{.}}</th>{{end}}</tr>
<tr>{{range .MetricNames}}<th>median [IQR]</th><th>mean ± SD<br>(95% CI)</th>{{end}}</tr>
{{range .Strata}}<tr><td>{{.Stratum}}</td><td>{{.Group}}</td><td class="n">{{(index .Cells 0).N}}</td>{{range .Cells}}<td class="n">{{.MedIQR}}</td><td class="n">{{.MeanSD}}<br><span class="ci">({{.CI}})</span>{{if .Undefined}}<br><span class="warn">{{.Undefined}} NA</span>{{end}}</td>{{end}}</tr>
{{end}}</table>
<details><summary>Per case (whole volume, ear "both")</summary>
<table><tr><th rowspan="2">stratum</th><th rowspan="2">group</th><th rowspan="2">n</th>{{range .MetricNames}}<th colspan="2">{{.}}</th>{{end}}</tr>
<tr>{{range .MetricNames}}<th>median [IQR]</th><th>mean ± SD<br>(95% CI)</th>{{end}}</tr>
{{range .CaseStrata}}<tr><td>{{.Stratum}}</td><td>{{.Group}}</td><td class="n">{{(index .Cells 0).N}}</td>{{range .Cells}}<td class="n">{{.MedIQR}}</td><td class="n">{{.MeanSD}}<br><span class="ci">({{.CI}})</span>{{if .Undefined}}<br><span class="warn">{{.Undefined}} NA</span>{{end}}</td>{{end}}</tr>
{{end}}</table></details>

<h2>Figures</h2>
<div class="figs">{{range .Figs}}<figure><img src="{{.Data}}" alt="{{.Title}}"><figcaption><b>{{.Title}}.</b> {{.Caption}} (also {{.Name}}.svg)</figcaption></figure>
{{end}}</div>

{{with .Worst}}<h2>Lowest-Dice ears</h2>
<p class="sub">Labyrinth agreement on the voxel planes k, j and i (24 mm panels, sampled in mm) through the reference centroid of the ear: <span style="background:#d8d8d8">&nbsp;both&nbsp;</span> <span style="background:#1aa03a;color:#fff">&nbsp;reference only (missed)&nbsp;</span> <span style="background:#d020c0;color:#fff">&nbsp;prediction only (false positive)&nbsp;</span>; white is outside the image.</p>
<div class="figs">{{range .}}<figure><img src="{{.Data}}" alt="{{.CaseID}} {{.Ear}}"><figcaption><b>{{.CaseID}} {{.Ear}}</b>: Dice {{.Dice}}, HD95 {{.HD95}} mm; {{.Split}}, {{.Subgroup}}{{with .Pathology}} ({{.}}){{end}}{{if ne .Status "ok"}} <span class="warn">{{.Status}}</span>{{end}}</figcaption></figure>
{{end}}</div>{{end}}

<h2>Tests</h2>
<table><tr><th>comparison</th><th>test</th><th>method</th><th>n</th><th>statistic</th><th>p (two-sided)</th><th>note</th></tr>
{{range .S.Tests}}<tr><td>{{.Name}}</td><td>{{.Test}}</td><td>{{.Method}}</td><td class="n">{{.N1}} / {{.N2}}</td><td class="n">{{f .Statistic}}</td><td class="n">{{p .PValue}}</td><td>{{.Note}}</td></tr>
{{end}}</table>
<p class="sub">Mann-Whitney U compares ears of two groups (U of the first group); Wilcoxon signed-rank compares paired values (n = pairs used / zero differences dropped). No correction for multiple comparisons is applied.</p>

<h2>Processing time</h2>
{{with .S.Time}}
<p>Automated times from {{if .Source}}{{.Source}}{{else}}<span class="warn">no source</span>{{end}}; manual times from the manifest.</p>
<table><tr><th></th><th>n</th><th>median [IQR] (s)</th><th>mean ± SD (s)</th><th>95% CI of mean</th></tr>
<tr><td>automated</td><td class="n">{{.Automated.N}}</td><td class="n">{{g3 .Automated.Median}} [{{g3 .Automated.Q1}}–{{g3 .Automated.Q3}}]</td><td class="n">{{g3 .Automated.Mean}} ± {{g3 .Automated.SD}}</td><td class="n">{{g3 .Automated.CILow}}–{{g3 .Automated.CIHigh}}</td></tr>
<tr><td>manual</td><td class="n">{{.Manual.N}}</td><td class="n">{{g3 .Manual.Median}} [{{g3 .Manual.Q1}}–{{g3 .Manual.Q3}}]</td><td class="n">{{g3 .Manual.Mean}} ± {{g3 .Manual.SD}}</td><td class="n">{{g3 .Manual.CILow}}–{{g3 .Manual.CIHigh}}</td></tr>
{{if .Paired}}<tr><td>speed-up manual/automated per case</td><td class="n">{{.PerCaseSpeedup.N}}</td><td class="n">{{g3 .PerCaseSpeedup.Median}} [{{g3 .PerCaseSpeedup.Q1}}–{{g3 .PerCaseSpeedup.Q3}}]</td><td class="n">{{g3 .PerCaseSpeedup.Mean}} ± {{g3 .PerCaseSpeedup.SD}}</td><td class="n">{{g3 .PerCaseSpeedup.CILow}}–{{g3 .PerCaseSpeedup.CIHigh}}</td></tr>{{end}}
</table>
{{if .Paired}}<p>Speed-up of medians: <b>{{printf "%.1f" .SpeedupOfMedians}}×</b> over {{.Paired}} paired cases. {{.Test.Test}} ({{.Test.Method}}): statistic {{f .Test.Statistic}}, p = {{p .Test.PValue}}.{{with .Test.Note}} <span class="warn">{{.}}</span>{{end}}</p>{{end}}
{{with .MissingAutomated}}<p class="warn">No automated time for: {{range $i, $c := .}}{{if $i}}, {{end}}{{$c}}{{end}}</p>{{end}}
{{with .MissingManual}}<p class="sub">No manual time for: {{range $i, $c := .}}{{if $i}}, {{end}}{{$c}}{{end}}</p>{{end}}
{{else}}<p class="sub">No automated or manual times were given.</p>{{end}}

<h2>Expert review (Likert)</h2>
{{with .S.Likert}}
<p>{{.Ratings}} ratings of {{.CasesRated}} cases by {{len .Readers}} reader(s): {{range $i, $r := .Readers}}{{if $i}}, {{end}}{{$r}}{{end}}.{{with .UnknownCases}} <span class="warn">Ratings of cases not evaluated were left out: {{range $i, $c := .}}{{if $i}}, {{end}}{{$c}}{{end}}.</span>{{end}}</p>
<table><tr><th>group</th><th>n</th><th>1 usable as is</th><th>2 minor corrections</th><th>3 major corrections</th><th>4 indeterminate/unusable</th></tr>
<tr><td>all</td><td class="n">{{.Ratings}}</td>{{range .Overall}}<td class="n">{{.Count}} ({{pct .Share}})</td>{{end}}</tr>
{{range .ByGroup}}<tr><td>{{.Stratum}}: {{.Group}}</td><td class="n">{{.N}}</td>{{range .Levels}}<td class="n">{{.Count}} ({{pct .Share}})</td>{{end}}</tr>
{{end}}</table>
<h3>Reader agreement</h3>
{{if .Agreement}}<table><tr><th>readers</th><th>statistic</th><th>cases</th><th>kappa</th><th>note</th></tr>
{{range .Agreement}}<tr><td>{{range $i, $r := .Readers}}{{if $i}}, {{end}}{{$r}}{{end}}</td><td>{{.Kind}}</td><td class="n">{{.N}}</td><td class="n">{{f .Kappa}}</td><td>{{.Note}}</td></tr>
{{end}}</table>{{else}}<p class="sub">One reader: no agreement to compute.</p>{{end}}
<h3>Case-level labyrinth Dice by Likert level</h3>
<table><tr><th>level</th><th>n</th><th>median [IQR]</th><th>mean ± SD</th></tr>
{{range .DiceByLevel}}<tr><td>{{.Level}} {{.Label}}</td><td class="n">{{.N}}</td><td class="n">{{if .N}}{{g3 .Median}} [{{g3 .Q1}}–{{g3 .Q3}}]{{else}}–{{end}}</td><td class="n">{{if .N}}{{g3 .Mean}} ± {{g3 .SD}}{{else}}–{{end}}</td></tr>
{{end}}</table>
<table><tr><th>comparison</th><th>test</th><th>method</th><th>n</th><th>statistic</th><th>p</th><th>note</th></tr>
{{range .Tests}}<tr><td>{{.Name}}</td><td>{{.Test}}</td><td>{{.Method}}</td><td class="n">{{.N1}} / {{.N2}}</td><td class="n">{{f .Statistic}}</td><td class="n">{{p .PValue}}</td><td>{{.Note}}</td></tr>
{{end}}</table>
{{else}}<p class="sub">No ratings file was given.</p>{{end}}

<h2>Flags</h2>
{{if .S.Flags}}<table><tr><th>case</th><th>ear</th><th>structure</th><th>status</th></tr>
{{range .S.Flags}}<tr><td>{{.CaseID}}</td><td>{{.Ear}}</td><td>{{.Structure}}</td><td class="warn">{{.Status}}</td></tr>
{{end}}</table>{{else}}<p class="sub">No empty reference or prediction.</p>{{end}}

<details><summary>Ears found in each case</summary>
<table><tr><th>case</th><th>ears</th><th>rule</th></tr>
{{range .S.Ears}}<tr><td>{{.CaseID}}</td><td>{{range $i, $e := .Ears}}{{if $i}}, {{end}}{{$e}}{{end}}</td><td>{{.Rule}}</td></tr>
{{end}}</table></details>

<details><summary>Labyrinth per case and ear</summary>
<table><tr><th>case</th><th>ear</th><th>split</th><th>subgroup</th><th>pathology</th><th>status</th><th>Dice</th><th>HD95 mm</th><th>ASSD mm</th><th>NSD</th><th>V ref mm³</th><th>V pred mm³</th><th>stray mm</th></tr>
{{range .Cases}}<tr><td>{{.ID}}</td><td>{{.Ear}}</td><td>{{.Split}}</td><td>{{.Subgroup}}</td><td>{{.Pathology}}</td><td>{{.Status}}</td><td class="n">{{.Dice}}</td><td class="n">{{.HD95}}</td><td class="n">{{.ASSD}}</td><td class="n">{{.NSD}}</td><td class="n">{{.VRef}}</td><td class="n">{{.VPred}}</td><td class="n">{{.Stray}}</td></tr>
{{end}}</table></details>

<h2>Definitions</h2>
<dl>{{range .S.Definitions}}<dt>{{.Term}}</dt><dd>{{.Text}}</dd>{{end}}</dl>
<p class="sub">Every number is in summary.json and cases.csv next to this file. Produced by <code>otoseg evaluate</code>.</p>
</body></html>
`
