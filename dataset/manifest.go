// Package dataset reads and validates the manifest that describes a cohort of
// CT scans and their reference segmentations: one CSV row per case with the
// columns
//
//	case_id,image,label,center,split,subgroup,pathology,spacing_mm,manual_seconds
//
// Paths are relative to the manifest's folder. The phantom generator writes
// it, training and evaluation read it, and the review app serves from it.
package dataset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/otoseg/otoseg/internal/atomicfile"
)

// Columns are the required manifest columns, in order. Further columns may
// follow and are kept in Case.Extra.
var Columns = []string{"case_id", "image", "label", "center", "split", "subgroup", "pathology", "spacing_mm", "manual_seconds"}

// Splits and subgroups a manifest may name.
const (
	SplitTrain      = "train"
	SplitValidation = "validation"
	SplitExternal   = "external"

	SubgroupNormal       = "normal"
	SubgroupPathological = "pathological"
)

// Case is one row of a manifest. Image and Label are absolute paths (or
// relative to the working directory) after Read resolves them.
type Case struct {
	ID            string
	Image         string
	Label         string // empty when the case has no reference segmentation
	Center        string
	Split         string
	Subgroup      string
	Pathology     string
	SpacingMM     string  // as written, e.g. "0.39x0.39x0.60"
	ManualSeconds float64 // 0 when unknown
	Extra         map[string]string
}

// Manifest is a parsed manifest file.
type Manifest struct {
	Path  string // the file it was read from
	Dir   string // folder paths are relative to
	Cases []Case
	// ExtraColumns lists any columns after the required ones, in file order.
	ExtraColumns []string
}

var caseIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ValidCaseID reports whether id is safe to use as a file name: letters,
// digits, dot, dash and underscore, not starting with a dot.
func ValidCaseID(id string) bool { return caseIDPattern.MatchString(id) }

// Read parses and validates the manifest at path. It checks the columns,
// case ids (unique, file-name safe), splits, subgroups and numbers; it does not
// open the images (see CheckFiles).
func Read(path string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	defer f.Close()
	m, err := Parse(io.LimitReader(f, 64<<20), filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", path, err)
	}
	m.Path = path
	return m, nil
}

// Parse reads a manifest from r; relative paths are resolved against dir.
func Parse(r io.Reader, dir string) (*Manifest, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("empty file, want a header line")
	}
	if err != nil {
		return nil, err
	}
	for i := range header {
		header[i] = strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff"))
	}
	if len(header) < len(Columns) {
		return nil, fmt.Errorf("header has %d columns, want at least %s", len(header), strings.Join(Columns, ","))
	}
	for i, c := range Columns {
		if header[i] != c {
			return nil, fmt.Errorf("column %d is %q, want %q (header must start %s)", i+1, header[i], c, strings.Join(Columns, ","))
		}
	}
	m := &Manifest{Dir: dir, ExtraColumns: header[len(Columns):]}
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) != len(header) {
			return nil, fmt.Errorf("line %d: %d fields, want %d", line, len(rec), len(header))
		}
		c, err := parseCase(rec, header, dir)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if prev, dup := seen[c.ID]; dup {
			return nil, fmt.Errorf("line %d: case_id %q already used on line %d", line, c.ID, prev)
		}
		seen[c.ID] = line
		m.Cases = append(m.Cases, c)
	}
	if len(m.Cases) == 0 {
		return nil, errors.New("no cases")
	}
	return m, nil
}

func parseCase(rec, header []string, dir string) (Case, error) {
	get := func(i int) string { return strings.TrimSpace(rec[i]) }
	c := Case{
		ID: get(0), Center: get(3), Split: get(4), Subgroup: get(5),
		Pathology: get(6), SpacingMM: get(7),
	}
	if !ValidCaseID(c.ID) {
		return c, fmt.Errorf("case_id %q: use letters, digits, '.', '-' and '_' only", c.ID)
	}
	if get(1) == "" {
		return c, fmt.Errorf("case %s: image path is empty", c.ID)
	}
	c.Image = Resolve(dir, get(1))
	if get(2) != "" {
		c.Label = Resolve(dir, get(2))
	}
	switch c.Split {
	case SplitTrain, SplitValidation, SplitExternal:
	default:
		return c, fmt.Errorf("case %s: split %q, want train, validation or external", c.ID, c.Split)
	}
	switch c.Subgroup {
	case SubgroupNormal, SubgroupPathological:
	default:
		return c, fmt.Errorf("case %s: subgroup %q, want normal or pathological", c.ID, c.Subgroup)
	}
	if s := get(8); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v < 0 {
			return c, fmt.Errorf("case %s: manual_seconds %q is not a non-negative number", c.ID, s)
		}
		c.ManualSeconds = v
	}
	if len(header) > len(Columns) {
		c.Extra = map[string]string{}
		for i := len(Columns); i < len(header); i++ {
			c.Extra[header[i]] = get(i)
		}
	}
	return c, nil
}

// Resolve returns a manifest cell's path p as it is to be opened: relative
// paths are relative to the manifest's folder dir.
func Resolve(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, filepath.FromSlash(p))
}

// Filter returns the cases for which keep is true.
func (m *Manifest) Filter(keep func(Case) bool) []Case {
	var out []Case
	for _, c := range m.Cases {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}

// CheckFiles reports the first case whose image or label file is missing.
func (m *Manifest) CheckFiles() error {
	for _, c := range m.Cases {
		for _, p := range []string{c.Image, c.Label} {
			if p == "" {
				continue
			}
			if _, err := os.Stat(p); err != nil {
				return fmt.Errorf("manifest %s: case %s: %w", m.Path, c.ID, err)
			}
		}
	}
	return nil
}

// Write writes cases as a manifest at path (atomically), with image and label
// paths made relative to the manifest's folder where possible.
func Write(path string, cases []Case, extra []string) error {
	dir := filepath.Dir(path)
	err := atomicfile.Write(path, func(f io.Writer) error {
		w := csv.NewWriter(f)
		_ = w.Write(append(append([]string{}, Columns...), extra...))
		for _, c := range cases {
			rec := []string{c.ID, relTo(dir, c.Image), relTo(dir, c.Label), c.Center, c.Split, c.Subgroup,
				c.Pathology, c.SpacingMM, strconv.FormatFloat(c.ManualSeconds, 'f', -1, 64)}
			for _, e := range extra {
				rec = append(rec, c.Extra[e])
			}
			_ = w.Write(rec)
		}
		w.Flush()
		return w.Error()
	})
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	return nil
}

func relTo(dir, p string) string {
	if p == "" {
		return ""
	}
	if r, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return filepath.ToSlash(p)
}
