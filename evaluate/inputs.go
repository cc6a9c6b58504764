package evaluate

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/otoseg/otoseg/dataset"
	"github.com/otoseg/otoseg/imageio"
)

// PredictionExtensions are tried, in this order, for DIR/<case_id><ext>;
// the first file that exists is the prediction. They are the endings otoseg
// writes label maps in.
var PredictionExtensions = imageio.WriteExtensions

// FindPrediction returns the prediction file of caseID in dir, or an error
// that lists the names tried.
func FindPrediction(dir, caseID string) (string, error) {
	for _, ext := range PredictionExtensions {
		p := filepath.Join(dir, caseID+ext)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("case %s: no prediction in %s (tried %s)", caseID, dir, strings.Join(PredictionExtensions, ", "))
}

// ReadTimes reads a times CSV (case_id,seconds): automated processing time
// per case in seconds, positive and finite, one row per case.
func ReadTimes(path string) (map[string]float64, error) {
	col, rows, lines, err := dataset.ReadTable(path, []string{"case_id", "seconds"})
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for n, rec := range rows {
		id := rec[col["case_id"]]
		s, err := parseSeconds(rec[col["seconds"]])
		if err != nil {
			return nil, fmt.Errorf("%s: line %d: case %s: %w", path, lines[n], id, err)
		}
		if _, dup := out[id]; dup {
			return nil, fmt.Errorf("%s: line %d: case %s appears twice", path, lines[n], id)
		}
		out[id] = s
	}
	return out, nil
}

func parseSeconds(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v > 0) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("seconds %q is not a positive number", s)
	}
	return v, nil
}

// ReadSidecar reads the `seconds` field of a JSON sidecar written next to a
// prediction by `otoseg segment` (DIR/<case_id>.json). ok is false when the
// file does not exist or holds no time (no field, or 0).
func ReadSidecar(path string) (seconds float64, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	if len(b) > 1<<20 {
		return 0, false, fmt.Errorf("%s: sidecar larger than 1 MiB", path)
	}
	var v struct {
		Seconds *float64 `json:"seconds"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return 0, false, fmt.Errorf("%s: %w", path, err)
	}
	// A sidecar without a time (a failed or foreign run) leaves the case
	// without an automated time, listed in the report; a negative one is
	// corrupt.
	if v.Seconds == nil || *v.Seconds == 0 {
		return 0, false, nil
	}
	if !(*v.Seconds > 0) || math.IsInf(*v.Seconds, 0) {
		return 0, false, fmt.Errorf("%s: seconds %g is not a positive number", path, *v.Seconds)
	}
	return *v.Seconds, true, nil
}

// Rating is one reader's Likert rating of one case from the review app.
type Rating struct {
	CaseID       string
	Reader       string
	Likert       int // 1 usable as is, 2 minor corrections, 3 major corrections, 4 indeterminate/unusable
	Comment      string
	SecondsSpent float64 // 0 when absent
	RatedAt      string
	line         int
}

// LikertLevels names the Likert levels 1..4 (index 0 is level 1).
var LikertLevels = []string{"usable as is", "minor corrections", "major corrections", "indeterminate/unusable"}

// ReadRatings reads a ratings CSV (case_id,reader,likert,comment,
// seconds_spent,rated_at; the last three optional). When a reader rated a
// case more than once, the rating with the latest rated_at (RFC 3339;
// otherwise the later line) is kept.
func ReadRatings(path string) ([]Rating, error) {
	col, rows, lines, err := dataset.ReadTable(path, []string{"case_id", "reader", "likert"})
	if err != nil {
		return nil, err
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok {
			return rec[i]
		}
		return ""
	}
	latest := map[[2]string]int{}
	var out []Rating
	for n, rec := range rows {
		r := Rating{CaseID: get(rec, "case_id"), Reader: get(rec, "reader"), Comment: get(rec, "comment"), RatedAt: get(rec, "rated_at"), line: lines[n]}
		if r.CaseID == "" || r.Reader == "" {
			return nil, fmt.Errorf("%s: line %d: empty case_id or reader", path, lines[n])
		}
		l, err := strconv.Atoi(get(rec, "likert"))
		if err != nil || l < 1 || l > 4 {
			return nil, fmt.Errorf("%s: line %d: likert %q, want 1, 2, 3 or 4", path, lines[n], get(rec, "likert"))
		}
		r.Likert = l
		if s := get(rec, "seconds_spent"); s != "" {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || v < 0 || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%s: line %d: seconds_spent %q is not a non-negative number", path, lines[n], s)
			}
			r.SecondsSpent = v
		}
		key := [2]string{r.CaseID, r.Reader}
		if i, dup := latest[key]; dup {
			if !later(out[i].RatedAt, r.RatedAt) {
				continue
			}
			out[i] = r
			continue
		}
		latest[key] = len(out)
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no ratings", path)
	}
	return out, nil
}

// later reports whether b is not earlier than a (RFC 3339 when both parse,
// otherwise the later line wins).
func later(a, b string) bool {
	ta, ea := time.Parse(time.RFC3339, a)
	tb, eb := time.Parse(time.RFC3339, b)
	if ea == nil && eb == nil {
		return !tb.Before(ta)
	}
	return true
}
