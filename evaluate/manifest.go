package evaluate

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/otoseg/otoseg/phantom"

	"github.com/otoseg/otoseg/dataset"
)

// ManifestRequired are the columns every evaluation manifest needs, in any
// order: the case id, its CT (may be empty: the agreement pictures are then
// drawn without CT) and its reference label map (empty: the case is
// skipped and listed).
var ManifestRequired = []string{"case_id", "image", "label"}

// ManifestOptional are the columns evaluate understands when present, in
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
var ManifestOptional = []string{"center", "split", "subgroup", "pathology", "spacing_mm", "manual_seconds",
	"manual_seconds_simulated", "scanner", "meta"}

// ReadManifest reads an evaluation manifest. The full manifest of package
// dataset (the phantom's and the training's, whose header starts with
// dataset.Columns) is read by dataset.Read, unchanged; any other CSV needs
// only case_id,image,label, so that a user with their own scans and labels
// does not have to invent splits and subgroups to get a report.
func ReadManifest(path string) (*dataset.Manifest, error) {
	header, err := manifestHeader(path)
	if err != nil {
		return nil, err
	}
	if len(header) >= len(dataset.Columns) && equalPrefix(header, dataset.Columns) {
		return dataset.Read(path)
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
		return nil, fmt.Errorf("manifest %s: empty file, want a header with %s", path, strings.Join(ManifestRequired, ","))
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
// ManifestRequired, ManifestOptional), with the checks of dataset.Read on
// the columns that are present.
func readMinimalManifest(path string) (*dataset.Manifest, error) {
	col, rows, lines, err := readTable(path, ManifestRequired)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	dir := filepath.Dir(path)
	m := &dataset.Manifest{Path: path, Dir: dir}
	known := map[string]bool{}
	for _, c := range append(append([]string{}, ManifestRequired...), ManifestOptional...) {
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

func minimalCase(rec []string, col map[string]int, extra []string, dir string) (dataset.Case, error) {
	get := func(name string) string {
		if i, ok := col[name]; ok {
			return rec[i]
		}
		return ""
	}
	c := dataset.Case{ID: get("case_id"), Center: get("center"), Split: get("split"), Subgroup: get("subgroup"),
		Pathology: get("pathology"), SpacingMM: get("spacing_mm")}
	if !dataset.ValidCaseID(c.ID) {
		return c, fmt.Errorf("case_id %q: use letters, digits, '.', '-' and '_' only", c.ID)
	}
	if p := get("image"); p != "" {
		c.Image = resolvePath(dir, p)
	}
	if p := get("label"); p != "" {
		c.Label = resolvePath(dir, p)
	}
	switch c.Split {
	case "", dataset.SplitTrain, dataset.SplitValidation, dataset.SplitExternal:
	default:
		return c, fmt.Errorf("case %s: split %q, want train, validation, external or empty", c.ID, c.Split)
	}
	switch c.Subgroup {
	case "", dataset.SubgroupNormal, dataset.SubgroupPathological:
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
		if _, err := parseYesNo(s); err != nil {
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

func resolvePath(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, filepath.FromSlash(p))
}

// parseYesNo reads a boolean manifest cell.
func parseYesNo(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "1", "y":
		return true, nil
	case "false", "no", "0", "n", "":
		return false, nil
	}
	return false, fmt.Errorf("%q, want true or false", s)
}

// caseMeta is what the report knows about a case beyond the manifest's
// fixed columns: the scanner and whether its manual time is simulated.
type caseMeta struct {
	Scanner         string
	ManualSimulated bool
}

// maxMetaBytes caps a phantom meta JSON read for the report.
const maxMetaBytes = 8 << 20

// readCaseMeta collects each case's caseMeta from the manifest's
// manual_seconds_simulated and scanner columns and, where there is a meta
// column, from the phantom's meta JSON (manual_seconds_simulated,
// centre.protocol). A manifest that names a meta file that cannot be read
// is an error: the report would otherwise present simulated manual times
// as measured ones.
func readCaseMeta(m *dataset.Manifest) (map[string]caseMeta, error) {
	out := map[string]caseMeta{}
	for _, c := range m.Cases {
		var cm caseMeta
		cm.Scanner = c.Extra["scanner"]
		if s := c.Extra["manual_seconds_simulated"]; s != "" {
			v, err := parseYesNo(s)
			if err != nil {
				return nil, fmt.Errorf("manifest %s: case %s: manual_seconds_simulated: %w", m.Path, c.ID, err)
			}
			cm.ManualSimulated = v
		}
		if p := c.Extra["meta"]; p != "" {
			pm, err := phantom.ReadMeta(resolvePath(m.Dir, p))
			if err != nil {
				return nil, fmt.Errorf("manifest %s: case %s: meta: %w", m.Path, c.ID, err)
			}
			cm.ManualSimulated = cm.ManualSimulated || pm.ManualSecondsSimulated
			if cm.Scanner == "" {
				cm.Scanner = pm.Centre.Protocol
			}
		}
		out[c.ID] = cm
	}
	return out, nil
}
