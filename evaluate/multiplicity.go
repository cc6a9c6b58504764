package evaluate

import (
	"fmt"
	"math"

	"github.com/otoseg/otoseg/stats"
)

// MultipleComparisons states how the report's p values are to be read: the
// unit of analysis and the correction for the number of tests. A report
// that runs some 34 tests on the same ears and prints raw p values invites
// reading the smallest as a finding; reviewers ask for both facts in words.
type MultipleComparisons struct {
	Method         string `json:"method"`           // "Holm"
	Tests          int    `json:"tests"`            // p values in the family
	UnitOfAnalysis string `json:"unit_of_analysis"` // "ear"
	Statement      string `json:"statement"`
}

// holmAll adjusts every p value of the report as one family (the group
// comparisons, the processing-time test and the Likert tests), writes the
// adjusted values into the tests' PHolm and returns the statement. One
// family is the conservative reading: the report does not pre-register a
// primary test.
func holmAll(s *Summary) MultipleComparisons {
	var tests []*Test
	for i := range s.Tests {
		tests = append(tests, &s.Tests[i])
	}
	if s.Time != nil {
		tests = append(tests, &s.Time.Test)
	}
	if s.Likert != nil {
		for i := range s.Likert.Tests {
			tests = append(tests, &s.Likert.Tests[i])
		}
	}
	p := make([]float64, len(tests))
	m := 0
	for i, t := range tests {
		p[i] = math.NaN()
		if t.PValue != nil {
			p[i] = *t.PValue
			m++
		}
	}
	for i, adj := range stats.Holm(p) {
		if !math.IsNaN(adj) {
			tests[i].PHolm = ptr(adj)
		}
	}
	return MultipleComparisons{
		Method: "Holm", Tests: m, UnitOfAnalysis: "ear",
		Statement: fmt.Sprintf("The unit of analysis is the ear: the left and right ears of a patient enter the per-ear statistics and tests as separate observations, although they are not independent (case-level results are given separately). "+
			"The %d test p values of this report (group comparisons, left vs right, processing time, Likert) are two-sided and uncorrected; beside each, p_holm is Holm's step-down adjustment over all %d as one family. The correlation p values of the volume table are descriptive and not in the family.", m, m),
	}
}
