package evaluate

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/otoseg/otoseg/dataset"
	"github.com/otoseg/otoseg/metrics"
	"github.com/otoseg/otoseg/stats"
)

// Summary is summary.json. It never holds NaN: undefined metric values are
// counted in n_undefined and left out of the statistics.
type Summary struct {
	Inputs             Inputs       `json:"inputs"`
	Definitions        []Definition `json:"definitions"`
	CasesEvaluated     int          `json:"cases_evaluated"`
	SkippedNoReference []string     `json:"skipped_no_reference"`
	// EmptyFromSidecar lists cases with a sidecar but no label map (the
	// segmentation found no ear), evaluated as empty predictions.
	EmptyFromSidecar []string        `json:"empty_prediction_no_label_map"`
	Flags            []Flag          `json:"flags"`
	Ears             []CaseEars      `json:"ears"`
	Metrics          []MetricSummary `json:"metrics"`
	// VolumeBias is the relative volume difference per ear of each
	// structure over all ears, keyed by structure; VolumeBiasByGroup the
	// same per group of the other strata (see VolumeBias).
	VolumeBias        map[string]VolumeBias `json:"volume_bias"`
	VolumeBiasByGroup []GroupVolumeBias     `json:"volume_bias_by_group"`
	// Stray counts the ears whose predicted labyrinth has a piece farther
	// than metrics.StrayThresholdMM from the reference, over all ears;
	// StrayByGroup the same per group of the other strata (see Stray).
	Stray        Stray          `json:"stray"`
	StrayByGroup []GroupStray   `json:"stray_by_group"`
	Tests        []Test         `json:"tests"`
	Time         *TimeSummary   `json:"time,omitempty"`
	Likert       *LikertSummary `json:"likert,omitempty"`
	// Cohort describes the evaluated cases per centre and pathology.
	Cohort *Cohort `json:"cohort"`
	// VolumeAgreement is reference against predicted volume per structure
	// (ICC, correlations, Bland-Altman), keyed by structure.
	VolumeAgreement map[string]VolumeAgreement `json:"volume_agreement"`
	// FailedEars counts per structure the ears with an empty prediction,
	// which the distance statistics leave out.
	FailedEars map[string]FailedEars `json:"failed_ears"`
	// MultipleComparisons states the unit of analysis and the correction
	// (Holm, p_holm in every test).
	MultipleComparisons MultipleComparisons `json:"multiple_comparisons"`
	// MinNSDCI is the fewest values for which the report prints an SD or a
	// confidence interval ("n/a" below; the numbers in metrics are kept).
	MinNSDCI int `json:"min_n_sd_ci"`
}

// Inputs records what the summary was computed from.
type Inputs struct {
	Manifest           string  `json:"manifest,omitempty"`
	Reference          string  `json:"reference,omitempty"` // a single pair: the reference file
	Predictions        string  `json:"predictions"`
	Times              string  `json:"times,omitempty"`
	Ratings            string  `json:"ratings,omitempty"`
	ToleranceMM        float64 `json:"nsd_tolerance_mm"`
	BootstrapResamples int     `json:"bootstrap_resamples"`
	BootstrapSeed      uint64  `json:"bootstrap_seed"`
}

// Flag is a row whose reference or prediction is empty.
type Flag struct {
	CaseID    string `json:"case_id"`
	Ear       string `json:"ear"`
	Structure string `json:"structure"`
	Status    string `json:"status"`
}

// MetricSummary describes one metric over one stratum group.
type MetricSummary struct {
	// Level is "ear" (one value per ear: the left and right rows) or "case"
	// (one value per case: the "both" rows, the whole volume).
	Level     string `json:"level"`
	Structure string `json:"structure"`
	Metric    string `json:"metric"`
	// Stratum is all, split, cohort (internal = train + validation, versus
	// external), center, subgroup or pathology; Group its value.
	Stratum   string `json:"stratum"`
	Group     string `json:"group"`
	Undefined int    `json:"n_undefined"`
	// PredEmpty counts the rows of the group whose prediction is empty
	// (status pred_empty, failed ears). For hd_mm, hd95_mm, assd_mm and
	// precision they are among n_undefined and left out of the statistics;
	// for the other metrics they count in n with their defined value.
	PredEmpty int `json:"n_pred_empty"`
	stats.Summary
}

// Test is a hypothesis test in the report. Statistic and PValue are absent
// when the test could not be run; Note says why.
type Test struct {
	Name      string   `json:"name"`
	Test      string   `json:"test"`
	Method    string   `json:"method,omitempty"`
	Groups    []string `json:"groups"`
	N1        int      `json:"n1"`
	N2        int      `json:"n2"`
	Statistic *float64 `json:"statistic,omitempty"`
	PValue    *float64 `json:"p_value,omitempty"`
	// PHolm is PValue adjusted by Holm's method over every test of the
	// report (see MultipleComparisons).
	PHolm *float64 `json:"p_holm,omitempty"`
	Note  string   `json:"note,omitempty"`
}

// TimeSummary compares automated with manual segmentation time.
type TimeSummary struct {
	Source string `json:"source"`
	// Automated covers every case with an automated time, Manual every case
	// with manual_seconds > 0; Paired counts cases with both.
	Automated stats.Summary `json:"automated_seconds"`
	Manual    stats.Summary `json:"manual_seconds"`
	Paired    int           `json:"paired"`
	// SpeedupOfMedians is median(manual) / median(automated) over the paired
	// cases; PerCaseSpeedup summarises manual_i / automated_i.
	SpeedupOfMedians float64       `json:"speedup_of_medians"`
	PerCaseSpeedup   stats.Summary `json:"per_case_speedup"`
	Test             Test          `json:"test"`
	MissingAutomated []string      `json:"missing_automated"`
	MissingManual    []string      `json:"missing_manual"`
	// ManualSimulated counts the cases whose manual time is simulated, not
	// measured (phantoms: their meta JSON says manual_seconds_simulated, or
	// the manifest column of that name); the report then says "simulated"
	// wherever it prints a manual time or a speed-up.
	ManualSimulated int    `json:"manual_simulated"`
	ManualSource    string `json:"manual_source"`
}

// LevelShare is the count and share of one Likert level.
type LevelShare struct {
	Level int     `json:"level"`
	Label string  `json:"label"`
	Count int     `json:"count"`
	Share float64 `json:"share"`
}

// GroupShares is the Likert distribution of one stratum group.
type GroupShares struct {
	Stratum string       `json:"stratum"`
	Group   string       `json:"group"`
	N       int          `json:"n"`
	Levels  []LevelShare `json:"levels"`
}

// Agreement is a kappa between readers.
type Agreement struct {
	Readers []string `json:"readers"`
	Kind    string   `json:"kind"` // "Cohen's kappa, linear weights", "... quadratic weights", "Fleiss' kappa"
	N       int      `json:"n"`    // cases rated by every reader listed
	Kappa   *float64 `json:"kappa,omitempty"`
	// CILow and CIHigh bound the 95% percentile-bootstrap CI of the kappa
	// over cases (resampling cases, the unit the readers rated);
	// CIResamples counts the resamples on which kappa was defined.
	CILow       *float64 `json:"ci_low,omitempty"`
	CIHigh      *float64 `json:"ci_high,omitempty"`
	CIResamples int      `json:"ci_resamples,omitempty"`
	Note        string   `json:"note,omitempty"`
}

// LevelDice is the case-level labyrinth Dice of the cases rated at a level.
type LevelDice struct {
	Level int    `json:"level"`
	Label string `json:"label"`
	stats.Summary
}

// LikertSummary analyses the readers' ratings.
type LikertSummary struct {
	Ratings      int           `json:"ratings"`
	Readers      []string      `json:"readers"`
	CasesRated   int           `json:"cases_rated"`
	UnknownCases []string      `json:"unknown_cases"` // rated but not evaluated; left out
	Overall      []LevelShare  `json:"overall"`
	ByGroup      []GroupShares `json:"by_group"`
	Agreement    []Agreement   `json:"agreement"`
	DiceByLevel  []LevelDice   `json:"dice_by_level"`
	Tests        []Test        `json:"tests"`
}

// Definition is a named definition printed in the report and the JSON.
type Definition struct {
	Term string `json:"term"`
	Text string `json:"text"`
}

// metric is one column of cases.csv that gets summarised.
type metric struct {
	name string
	get  func(metrics.Result) float64
}

var summaryMetrics = []metric{
	{"dice", func(r metrics.Result) float64 { return r.Dice }},
	{"iou", func(r metrics.Result) float64 { return r.IoU }},
	{"sensitivity", func(r metrics.Result) float64 { return r.Sensitivity }},
	{"precision", func(r metrics.Result) float64 { return r.Precision }},
	{"hd_mm", func(r metrics.Result) float64 { return r.HD }},
	{"hd95_mm", func(r metrics.Result) float64 { return r.HD95 }},
	{"assd_mm", func(r metrics.Result) float64 { return r.ASSD }},
	{"nsd", func(r metrics.Result) float64 { return r.NSD }},
	{"volume_ref_mm3", func(r metrics.Result) float64 { return r.VolumeRef }},
	{"volume_pred_mm3", func(r metrics.Result) float64 { return r.VolumePred }},
	{"avd_mm3", func(r metrics.Result) float64 { return r.AVD }},
	{"rvd", func(r metrics.Result) float64 { return r.RVD }},
}

// stratum groups cases by one manifest attribute.
type stratum struct {
	name  string
	group func(dataset.Case) string
}

// Cohorts: the training centres' cases versus the external centre's.
const (
	CohortInternal = "internal"
	CohortExternal = "external"
)

func cohort(c dataset.Case) string {
	switch c.Split {
	case dataset.SplitExternal:
		return CohortExternal
	case dataset.SplitTrain, dataset.SplitValidation:
		return CohortInternal
	}
	return "(none)" // a single pair evaluated without a manifest
}

var strata = []stratum{
	{"all", func(dataset.Case) string { return "all" }},
	{"split", func(c dataset.Case) string { return orNone(c.Split) }},
	{"cohort", cohort},
	{"center", func(c dataset.Case) string { return orNone(c.Center) }},
	{"subgroup", func(c dataset.Case) string { return orNone(c.Subgroup) }},
	{"pathology", func(c dataset.Case) string { return orNone(c.Pathology) }},
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

type analysis struct {
	cfg        Config
	cases      []dataset.Case
	rows       []CaseRow
	auto       map[string]float64
	timeSource string
	ratings    []Rating
	skipped    []string
	meta       map[string]caseMeta   // scanner, simulated manual time
	ears       []CaseEars            // how each case was split
	spacing    map[string][3]float64 // reference voxel spacing per case
}

func (a *analysis) boot(key ...string) stats.Bootstrap {
	h := fnv.New64a()
	h.Write([]byte(strings.Join(key, "\x00")))
	return stats.Bootstrap{Resamples: a.cfg.Resamples, Seed: h.Sum64() ^ a.cfg.Seed}
}

func level(ear string) string {
	if ear == metrics.EarBoth {
		return "case"
	}
	return "ear"
}

// predEmpty counts the rows with an empty prediction.
func predEmpty(rows []CaseRow) int {
	n := 0
	for _, r := range rows {
		if r.Status == metrics.StatusPredEmpty {
			n++
		}
	}
	return n
}

// values returns the defined values of m over rows, and how many were
// undefined (NaN).
func values(rows []CaseRow, m metric) ([]float64, int) {
	var v []float64
	undef := 0
	for _, r := range rows {
		x := m.get(r.Result)
		if math.IsNaN(x) {
			undef++
			continue
		}
		v = append(v, x)
	}
	return v, undef
}

// summarize computes summary.json in stages: the header and flags, the
// metric summaries, the volume, stray, failed-ear and cohort blocks, the
// tests, time and Likert, and last Holm's correction over all tests.
func (a *analysis) summarize() (*Summary, error) {
	s := a.header()
	if err := a.metricSummaries(s); err != nil {
		return nil, err
	}
	if err := a.volumeBias(s); err != nil {
		return nil, fmt.Errorf("volume bias: %w", err)
	}
	a.stray(s)
	a.volumeAgreement(s)
	a.failedEars(s)
	s.Cohort = a.cohortTable()
	s.Tests = a.groupTests()
	s.Time = a.timeSummary()
	if len(a.ratings) > 0 {
		s.Likert = a.likert()
	}
	s.MultipleComparisons = holmAll(s)
	return s, nil
}

// header fills the inputs, definitions, counts and flags.
func (a *analysis) header() *Summary {
	resamples := a.cfg.Resamples
	if resamples <= 0 {
		resamples = stats.DefaultResamples
	}
	s := &Summary{
		Inputs: Inputs{Manifest: a.cfg.Manifest, Reference: a.cfg.RefFile, Predictions: cmp.Or(a.cfg.PredDir, a.cfg.PredFile), Times: a.cfg.Times, Ratings: a.cfg.Ratings,
			ToleranceMM: a.cfg.ToleranceMM, BootstrapResamples: resamples, BootstrapSeed: a.cfg.Seed},
		Definitions:        Definitions(a.cfg.ToleranceMM),
		CasesEvaluated:     len(a.cases),
		SkippedNoReference: nonNil(a.skipped),
		Flags:              []Flag{},
		MinNSDCI:           minVolumeBiasN,
	}
	for _, r := range a.rows {
		if r.Status != metrics.StatusOK {
			s.Flags = append(s.Flags, Flag{r.Case.ID, r.Ear, r.Structure, string(r.Status)})
		}
	}
	return s
}

// metricSummaries fills s.Metrics: every metric of summaryMetrics per level,
// structure, stratum and group.
func (a *analysis) metricSummaries(s *Summary) error {
	// Group rows by level, structure, stratum and group.
	type key struct{ level, structure, stratum, group string }
	groups := map[key][]CaseRow{}
	for _, r := range a.rows {
		for _, st := range strata {
			k := key{level(r.Ear), r.Structure, st.name, st.group(r.Case)}
			groups[k] = append(groups[k], r)
		}
	}
	keys := make([]key, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	structOrder := map[string]int{}
	for i, st := range metrics.Structures {
		structOrder[st.Name] = i
	}
	stratOrder := map[string]int{}
	for i, st := range strata {
		stratOrder[st.name] = i
	}
	slices.SortFunc(keys, func(x, y key) int {
		return cmp.Or(cmp.Compare(y.level, x.level), // "ear" before "case"
			cmp.Compare(structOrder[x.structure], structOrder[y.structure]),
			cmp.Compare(stratOrder[x.stratum], stratOrder[y.stratum]),
			cmp.Compare(x.group, y.group))
	})
	// The bootstraps dominate (about 600 million draws for 350 cases), so
	// the summaries are computed in parallel into fixed slots: the order and
	// the seeds do not depend on scheduling.
	s.Metrics = make([]MetricSummary, len(keys)*len(summaryMetrics))
	errs := make([]error, len(s.Metrics))
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				k, m := keys[i/len(summaryMetrics)], summaryMetrics[i%len(summaryMetrics)]
				v, undef := values(groups[k], m)
				d, err := stats.Describe(v, a.boot(k.level, k.structure, k.stratum, k.group, m.name))
				if err != nil {
					errs[i] = fmt.Errorf("summary of %s %s: %w", k.structure, m.name, err)
					continue
				}
				s.Metrics[i] = MetricSummary{Level: k.level, Structure: k.structure, Metric: m.name,
					Stratum: k.stratum, Group: k.group, Undefined: undef, PredEmpty: predEmpty(groups[k]), Summary: d}
			}
		}()
	}
	for i := range s.Metrics {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func ptr(x float64) *float64 { return &x }

// testFromResult converts a stats result (or its error) into a Test.
func testFromResult(name string, groups []string, r stats.TestResult, err error) Test {
	t := Test{Name: name, Test: r.Test, Groups: groups, N1: r.N1, N2: r.N2}
	if err != nil {
		t.Note = err.Error()
		return t
	}
	t.Method = r.Method
	t.Statistic, t.PValue = ptr(r.Statistic), ptr(r.PValue)
	return t
}

// groupTests: Mann-Whitney U of ear-level metrics between subgroups and
// between cohorts, and Wilcoxon signed-rank of left versus right ear.
func (a *analysis) groupTests() []Test {
	var tests []Test
	testMetrics := []string{"dice", "hd95_mm", "assd_mm", "nsd"}
	for _, st := range metrics.Structures {
		for _, mn := range testMetrics {
			m := metricByName(mn)
			for _, cmpSpec := range []struct {
				by     func(dataset.Case) string
				g1, g2 string
			}{
				{func(c dataset.Case) string { return c.Subgroup }, dataset.SubgroupNormal, dataset.SubgroupPathological},
				{cohort, CohortInternal, CohortExternal},
			} {
				var x, y []CaseRow
				for _, r := range a.rows {
					if r.Ear == metrics.EarBoth || r.Structure != st.Name {
						continue
					}
					switch cmpSpec.by(r.Case) {
					case cmpSpec.g1:
						x = append(x, r)
					case cmpSpec.g2:
						y = append(y, r)
					}
				}
				vx, _ := values(x, m)
				vy, _ := values(y, m)
				r, err := stats.MannWhitneyU(vx, vy)
				name := fmt.Sprintf("%s %s per ear: %s vs %s", st.Name, mn, cmpSpec.g1, cmpSpec.g2)
				tests = append(tests, testFromResult(name, []string{cmpSpec.g1, cmpSpec.g2}, r, err))
			}
		}
	}
	// Left versus right labyrinth Dice within cases that have both ears.
	left, right := map[string]float64{}, map[string]float64{}
	for _, r := range a.rows {
		if r.Structure != "labyrinth" || math.IsNaN(r.Dice) {
			continue
		}
		switch r.Ear {
		case metrics.EarLeft:
			left[r.Case.ID] = r.Dice
		case metrics.EarRight:
			right[r.Case.ID] = r.Dice
		}
	}
	var l, rr []float64
	for _, c := range a.cases {
		if x, ok := left[c.ID]; ok {
			if y, ok := right[c.ID]; ok {
				l, rr = append(l, x), append(rr, y)
			}
		}
	}
	res, err := stats.Wilcoxon(l, rr)
	t := testFromResult("labyrinth dice: left vs right ear (paired by case)", []string{"left", "right"}, res, err)
	if err != nil {
		t.Test, t.N1 = "Wilcoxon signed-rank", len(l)
	}
	tests = append(tests, t)
	return tests
}

func metricByName(n string) metric {
	for _, m := range summaryMetrics {
		if m.name == n {
			return m
		}
	}
	panic("evaluate: unknown metric " + n) // programming error: names are constants above
}

func (a *analysis) timeSummary() *TimeSummary {
	var auto, manual, pa, pm, ratio []float64
	t := &TimeSummary{Source: a.timeSource, MissingAutomated: []string{}, MissingManual: []string{}}
	for _, c := range a.cases {
		s, okA := a.auto[c.ID]
		okM := c.ManualSeconds > 0
		if okA {
			auto = append(auto, s)
		} else {
			t.MissingAutomated = append(t.MissingAutomated, c.ID)
		}
		if okM {
			manual = append(manual, c.ManualSeconds)
		} else {
			t.MissingManual = append(t.MissingManual, c.ID)
		}
		if okA && okM {
			pa, pm = append(pa, s), append(pm, c.ManualSeconds)
			ratio = append(ratio, c.ManualSeconds/s)
		}
	}
	if len(auto) == 0 && len(manual) == 0 {
		return nil
	}
	t.ManualSource = "manifest column manual_seconds"
	for _, c := range a.cases {
		if c.ManualSeconds > 0 && a.meta[c.ID].ManualSimulated {
			t.ManualSimulated++
		}
	}
	if t.ManualSimulated > 0 {
		t.ManualSource += fmt.Sprintf(", simulated (not measured) for %d of %d cases", t.ManualSimulated, len(manual))
	}
	t.Automated, _ = stats.Describe(auto, a.boot("time", "automated"))
	t.Manual, _ = stats.Describe(manual, a.boot("time", "manual"))
	t.Paired = len(pa)
	if len(pa) > 0 {
		sa, sm := slices.Clone(pa), slices.Clone(pm)
		slices.Sort(sa)
		slices.Sort(sm)
		t.SpeedupOfMedians = stats.Percentile(sm, 50) / stats.Percentile(sa, 50)
		t.PerCaseSpeedup, _ = stats.Describe(ratio, a.boot("time", "speedup"))
	}
	r, err := stats.Wilcoxon(pm, pa)
	t.Test = testFromResult("processing time: manual vs automated (paired by case)", []string{"manual", "automated"}, r, err)
	if err != nil {
		t.Test.Test, t.Test.N1 = "Wilcoxon signed-rank", len(pa)
	}
	return t
}

// likert summarises the readers' ratings: shares per level overall and
// per stratum, agreement between readers, Dice per level and tests between
// subgroups and cohorts.
func (a *analysis) likert() *LikertSummary {
	byID := map[string]dataset.Case{}
	for _, c := range a.cases {
		byID[c.ID] = c
	}
	l, known := a.knownRatings(byID)
	l.Overall = levelShares(known)
	for _, st := range strata[1:] { // split, cohort, center, subgroup, pathology
		g := map[string][]Rating{}
		for _, r := range known {
			k := st.group(byID[r.CaseID])
			g[k] = append(g[k], r)
		}
		for _, n := range slices.Sorted(maps.Keys(g)) {
			l.ByGroup = append(l.ByGroup, GroupShares{Stratum: st.name, Group: n, N: len(g[n]), Levels: levelShares(g[n])})
		}
	}
	rating := map[[2]string]int{}
	for _, r := range known {
		rating[[2]string{r.CaseID, r.Reader}] = r.Likert
	}
	l.Agreement = append(a.pairwiseKappas(l.Readers, rating), a.fleissKappa(l.Readers, rating)...)
	l.DiceByLevel = a.diceByLevel(known)
	l.Tests = likertTests(known, byID)
	return l
}

// knownRatings starts the summary: the ratings of cases in the manifest,
// who gave them, and the case IDs rated that the manifest does not hold.
func (a *analysis) knownRatings(byID map[string]dataset.Case) (*LikertSummary, []Rating) {
	l := &LikertSummary{UnknownCases: []string{}, Readers: []string{}}
	var known []Rating
	readers, unknown, rated := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, r := range a.ratings {
		if _, ok := byID[r.CaseID]; !ok {
			if !unknown[r.CaseID] {
				unknown[r.CaseID] = true
				l.UnknownCases = append(l.UnknownCases, r.CaseID)
			}
			continue
		}
		known = append(known, r)
		readers[r.Reader] = true
		rated[r.CaseID] = true
	}
	l.Ratings, l.CasesRated = len(known), len(rated)
	l.Readers = append(l.Readers, slices.Sorted(maps.Keys(readers))...)
	return l, known
}

// levelShares counts the ratings at each of the four levels.
func levelShares(rs []Rating) []LevelShare {
	out := make([]LevelShare, 4)
	for i := range out {
		out[i] = LevelShare{Level: i + 1, Label: LikertLevels[i]}
	}
	for _, r := range rs {
		out[r.Likert-1].Count++
	}
	for i := range out {
		if len(rs) > 0 {
			out[i].Share = float64(out[i].Count) / float64(len(rs))
		}
	}
	return out
}

// likertCategories are the levels the kappas are computed over.
var likertCategories = []int{1, 2, 3, 4}

// pairwiseKappas is Cohen's kappa, linear and quadratic weights, with a
// bootstrap CI, for every pair of readers on the cases both rated.
func (a *analysis) pairwiseKappas(readers []string, rating map[[2]string]int) []Agreement {
	out := []Agreement{}
	for i := 0; i < len(readers); i++ {
		for j := i + 1; j < len(readers); j++ {
			ra, rb := readers[i], readers[j]
			var xa, xb []int
			for _, c := range a.cases {
				va, ok1 := rating[[2]string{c.ID, ra}]
				vb, ok2 := rating[[2]string{c.ID, rb}]
				if ok1 && ok2 {
					xa, xb = append(xa, va), append(xb, vb)
				}
			}
			for _, w := range []stats.Weighting{stats.Linear, stats.Quadratic} {
				ag := Agreement{Readers: []string{ra, rb}, Kind: "Cohen's kappa, " + w.String() + " weights", N: len(xa)}
				if k, err := stats.CohenKappa(xa, xb, likertCategories, w); err != nil {
					ag.Note = err.Error()
				} else {
					ag.Kappa = ptr(k)
					ag.kappaCI(a.boot("kappa", ra, rb, w.String()), func(idx []int) (float64, error) {
						ya, yb := make([]int, len(idx)), make([]int, len(idx))
						for n, i := range idx {
							ya[n], yb[n] = xa[i], xb[i]
						}
						return stats.CohenKappa(ya, yb, likertCategories, w)
					})
				}
				out = append(out, ag)
			}
		}
	}
	return out
}

// fleissKappa is Fleiss' kappa over the cases every reader rated, when
// there are three readers or more.
func (a *analysis) fleissKappa(readers []string, rating map[[2]string]int) []Agreement {
	if len(readers) < 3 {
		return nil
	}
	var counts [][]int
	for _, c := range a.cases {
		row := make([]int, 4)
		all := true
		for _, rd := range readers {
			v, ok := rating[[2]string{c.ID, rd}]
			if !ok {
				all = false
				break
			}
			row[v-1]++
		}
		if all {
			counts = append(counts, row)
		}
	}
	ag := Agreement{Readers: readers, Kind: "Fleiss' kappa", N: len(counts)}
	if k, err := stats.FleissKappa(counts); err != nil {
		ag.Note = err.Error()
	} else {
		ag.Kappa = ptr(k)
		ag.kappaCI(a.boot("kappa", "fleiss"), func(idx []int) (float64, error) {
			rows := make([][]int, len(idx))
			for n, i := range idx {
				rows[n] = counts[i]
			}
			return stats.FleissKappa(rows)
		})
	}
	return []Agreement{ag}
}

// diceByLevel describes the labyrinth Dice of the rated cases per level
// (each rating counts once).
func (a *analysis) diceByLevel(known []Rating) []LevelDice {
	caseDice := map[string]float64{}
	for _, r := range a.rows {
		if r.Ear == metrics.EarBoth && r.Structure == "labyrinth" {
			caseDice[r.Case.ID] = r.Dice
		}
	}
	var out []LevelDice
	for lv := 1; lv <= 4; lv++ {
		var v []float64
		for _, r := range known {
			if r.Likert == lv {
				v = append(v, caseDice[r.CaseID])
			}
		}
		d, _ := stats.Describe(v, a.boot("likert", fmt.Sprint(lv)))
		out = append(out, LevelDice{Level: lv, Label: LikertLevels[lv-1], Summary: d})
	}
	return out
}

// likertTests compares the levels between normal and pathological ears and
// between the internal and external cohorts (Mann-Whitney U, every rating).
func likertTests(known []Rating, byID map[string]dataset.Case) []Test {
	var out []Test
	for _, spec := range []struct {
		by     func(dataset.Case) string
		g1, g2 string
	}{
		{func(c dataset.Case) string { return c.Subgroup }, dataset.SubgroupNormal, dataset.SubgroupPathological},
		{cohort, CohortInternal, CohortExternal},
	} {
		var x, y []float64
		for _, r := range known {
			switch spec.by(byID[r.CaseID]) {
			case spec.g1:
				x = append(x, float64(r.Likert))
			case spec.g2:
				y = append(y, float64(r.Likert))
			}
		}
		res, err := stats.MannWhitneyU(x, y)
		out = append(out, testFromResult(fmt.Sprintf("Likert level: %s vs %s (every rating)", spec.g1, spec.g2), []string{spec.g1, spec.g2}, res, err))
	}
	return out
}

// kappaCI sets the bootstrap CI of a kappa over the rated cases: resampled
// cases keep both (or all) readers' ratings together, so the interval
// reflects which cases happened to be rated. Resamples on which the kappa is
// undefined (every rating in one level) are left out and the rest counted;
// fewer than 2 cases give no interval and a note.
func (ag *Agreement) kappaCI(b stats.Bootstrap, stat func(idx []int) (float64, error)) {
	lo, hi, used, err := stats.ResampleCI(ag.N, stat, b)
	if err != nil {
		ag.Note = "no CI: " + err.Error()
		return
	}
	ag.CILow, ag.CIHigh, ag.CIResamples = ptr(lo), ptr(hi), used
}
