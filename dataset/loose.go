package dataset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// maxTableBytes caps the size of a table ReadTable reads.
const maxTableBytes = 64 << 20

// ReadTable reads a CSV with a header and returns the position of every
// column by name (the required ones must be there, in any order, others may
// be), the rows (cells trimmed, blank lines skipped) and their line
// numbers: the manifests, time and rating tables otoseg reads.
func ReadTable(path string, required []string) (map[string]int, [][]string, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	r := csv.NewReader(io.LimitReader(f, maxTableBytes))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, nil, fmt.Errorf("%s: empty file, want a header with %s", path, strings.Join(required, ","))
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	for _, c := range required {
		if _, ok := col[c]; !ok {
			return nil, nil, nil, fmt.Errorf("%s: header lacks column %q (want %s)", path, c, strings.Join(required, ","))
		}
	}
	var rows [][]string
	var lines []int
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) != len(header) {
			return nil, nil, nil, fmt.Errorf("%s: line %d has %d fields, header has %d", path, line, len(rec), len(header))
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		rows = append(rows, rec)
		lines = append(lines, line)
	}
	return col, rows, lines, nil
}

// RequiredColumns are the columns every manifest ReadAny reads needs, in any
// order: the case id, its CT (may be empty: the agreement pictures are then
// drawn without CT) and its reference label map (empty: the case is
// skipped and listed).
var RequiredColumns = []string{"case_id", "image", "label"}

// OptionalColumns are the columns ReadAny understands when present, in
// any order; anything else is kept in Case.Extra. A manifest without them
// is still a cohort: the strata it lacks read "(none)" and the tests that
// need them say so.
//
//	center                    site (cohort table, strata)
//	split                     train, validation or external (empty allowed)
//	subgroup                  normal or pathological (empty allowed)
//	pathology                 free text (strata, cohort table)
//	spacing_mm                as written; the report measures the spacing itself
//	manual_seconds            manual segmentation time (0 or empty: unknown)
//	manual_seconds_simulated  true/false (also yes/no, 1/0): the manual times
//	                          are simulated, not measured, and the report says so
//	scanner                   scanner or protocol (cohort table)
//	meta                      a phantom's meta JSON (otoseg phantom writes it):
//	                          manual_seconds_simulated and the centre's protocol
//	                          are read from it
var OptionalColumns = []string{"center", "split", "subgroup", "pathology", "spacing_mm", "manual_seconds",
	"manual_seconds_simulated", "scanner", "meta"}

// ReadAny reads a manifest for evaluation and review. The full manifest
// (the phantom's and the training's, whose header starts with Columns) is
// read by Read, unchanged; any other CSV needs only case_id,image,label in
// any order, so that a user with their own scans and labels does not have
// to invent splits and subgroups to get a report.
func ReadAny(path string) (*Manifest, error) {
	header, err := manifestHeader(path)
	if err != nil {
		return nil, err
	}
	if len(header) >= len(Columns) && equalPrefix(header, Columns) {
		return Read(path)
	}
	return readMinimalManifest(path)
}

// manifestHeader returns the trimmed header fields of a CSV.
func manifestHeader(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(io.LimitReader(f, 1<<20))
	r.FieldsPerRecord = -1
	h, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("manifest %s: empty file, want a header with %s", path, strings.Join(RequiredColumns, ","))
	}
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", path, err)
	}
	for i := range h {
		h[i] = strings.TrimSpace(strings.TrimPrefix(h[i], "\ufeff"))
	}
	return h, nil
}

func equalPrefix(h, want []string) bool {
	for i, c := range want {
		if h[i] != c {
			return false
		}
	}
	return true
}

// readMinimalManifest reads a manifest by column names (see
// RequiredColumns, OptionalColumns), with the checks of dataset.Read on
// the columns that are present.
func readMinimalManifest(path string) (*Manifest, error) {
	col, rows, lines, err := ReadTable(path, RequiredColumns)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	dir := filepath.Dir(path)
	m := &Manifest{Path: path, Dir: dir}
	known := map[string]bool{}
	for _, c := range append(append([]string{}, RequiredColumns...), OptionalColumns...) {
		known[c] = true
	}
	// Extra columns in file order, as dataset keeps them.
	names := make([]string, len(col))
	for name, i := range col {
		names[i] = name
	}
	for _, name := range names {
		if !known[name] || name == "manual_seconds_simulated" || name == "scanner" || name == "meta" {
			m.ExtraColumns = append(m.ExtraColumns, name)
		}
	}
	seen := map[string]int{}
	for n, rec := range rows {
		c, err := minimalCase(rec, col, m.ExtraColumns, dir)
		if err != nil {
			return nil, fmt.Errorf("manifest %s: line %d: %w", path, lines[n], err)
		}
		if prev, dup := seen[c.ID]; dup {
			return nil, fmt.Errorf("manifest %s: line %d: case_id %q already used on line %d", path, lines[n], c.ID, prev)
		}
		seen[c.ID] = lines[n]
		m.Cases = append(m.Cases, c)
	}
	if len(m.Cases) == 0 {
		return nil, fmt.Errorf("manifest %s: no cases", path)
	}
	return m, nil
}

func minimalCase(rec []string, col map[string]int, extra []string, dir string) (Case, error) {
	get := func(name string) string {
		if i, ok := col[name]; ok {
			return rec[i]
		}
		return ""
	}
	c := Case{ID: get("case_id"), Center: get("center"), Split: get("split"), Subgroup: get("subgroup"),
		Pathology: get("pathology"), SpacingMM: get("spacing_mm")}
	if !ValidCaseID(c.ID) {
		return c, fmt.Errorf("case_id %q: use letters, digits, '.', '-' and '_' only", c.ID)
	}
	if p := get("image"); p != "" {
		c.Image = Resolve(dir, p)
	}
	if p := get("label"); p != "" {
		c.Label = Resolve(dir, p)
	}
	switch c.Split {
	case "", SplitTrain, SplitValidation, SplitExternal:
	default:
		return c, fmt.Errorf("case %s: split %q, want train, validation, external or empty", c.ID, c.Split)
	}
	switch c.Subgroup {
	case "", SubgroupNormal, SubgroupPathological:
	default:
		return c, fmt.Errorf("case %s: subgroup %q, want normal, pathological or empty", c.ID, c.Subgroup)
	}
	if s := get("manual_seconds"); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || !(v >= 0) || v > 1e9 {
			return c, fmt.Errorf("case %s: manual_seconds %q is not a non-negative number", c.ID, s)
		}
		c.ManualSeconds = v
	}
	if s := get("manual_seconds_simulated"); s != "" {
		if _, err := ParseYesNo(s); err != nil {
			return c, fmt.Errorf("case %s: manual_seconds_simulated: %w", c.ID, err)
		}
	}
	if len(extra) > 0 {
		c.Extra = map[string]string{}
		for _, name := range extra {
			c.Extra[name] = get(name)
		}
	}
	return c, nil
}

// ParseYesNo reads a boolean manifest cell: true/false, yes/no, y/n, 1/0
// (empty is false).
func ParseYesNo(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "1", "y":
		return true, nil
	case "false", "no", "0", "n", "":
		return false, nil
	}
	return false, fmt.Errorf("%q, want true or false", s)
}
