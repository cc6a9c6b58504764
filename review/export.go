package review

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// ExportColumns is the header of the ratings file the evaluation report
// reads.
var ExportColumns = []string{"case_id", "reader", "likert", "comment", "seconds_spent", "rated_at"}

// HistoryColumns is the header of the audit trail ExportHistory writes.
var HistoryColumns = []string{"case_id", "reader", "segmentation", "likert", "comment", "seconds_spent", "rated_at", "submitted", "action"}

// ExportOptions select what Export writes.
type ExportOptions struct {
	// Source is SourceAutomated (default) or SourceManual.
	Source string
	// SubmittedOnly leaves out ratings of cases the reader has not submitted.
	SubmittedOnly bool
}

// Export writes the ratings to path as CSV (ExportColumns; rated_at in RFC
// 3339 UTC), sorted by case then reader. The file is written to a temporary
// name in the same folder and renamed, so a reader of path never sees half a
// file. It returns the number of rows.
func Export(ctx context.Context, st *Store, path string, o ExportOptions) (int, error) {
	if o.Source == "" {
		o.Source = SourceAutomated
	}
	if o.Source != SourceAutomated && o.Source != SourceManual {
		return 0, fmt.Errorf("export: segmentation %q, want %s or %s", o.Source, SourceAutomated, SourceManual)
	}
	rs, err := st.AllRatings(ctx, o.Source)
	if err != nil {
		return 0, fmt.Errorf("export %s: %w", path, err)
	}
	var rows [][]string
	for _, r := range rs {
		if o.SubmittedOnly && !r.Submitted {
			continue
		}
		rows = append(rows, []string{r.CaseID, r.Reader, strconv.Itoa(r.Likert), r.Comment,
			strconv.FormatFloat(r.SecondsSpent, 'f', -1, 64), r.RatedAt.UTC().Format(time.RFC3339)})
	}
	if err := writeCSV(path, ExportColumns, rows); err != nil {
		return 0, err
	}
	return len(rows), nil
}

// ExportHistory writes the audit trail (Store.History) in commit order
// (HistoryColumns; segmentation is automated or manual, action rate or
// submit). It returns the number of rows.
func ExportHistory(ctx context.Context, st *Store, path string) (int, error) {
	es, err := st.History(ctx)
	if err != nil {
		return 0, fmt.Errorf("export %s: %w", path, err)
	}
	rows := make([][]string, 0, len(es))
	for _, e := range es {
		rows = append(rows, []string{e.CaseID, e.Reader, e.Source, strconv.Itoa(e.Likert), e.Comment,
			strconv.FormatFloat(e.SecondsSpent, 'f', -1, 64), e.RatedAt.UTC().Format(time.RFC3339), strconv.FormatBool(e.Submit), e.Action})
	}
	if err := writeCSV(path, HistoryColumns, rows); err != nil {
		return 0, err
	}
	return len(rows), nil
}

// SafeCell makes a free-text value safe to open in a spreadsheet. Control
// characters are removed (a line break is kept, as LF; CR and CRLF become
// LF), and a value that would start a formula, one beginning with =, +, -,
// @, a tab, CR or LF, gets a leading single quote, as OWASP recommends
// against CSV injection: Excel, LibreOffice and Google Sheets show the
// value as text instead of running it (=HYPERLINK(...) would otherwise
// send data to any address, =cmd|... run a program).
func SafeCell(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.Map(func(r rune) rune {
		if r != '\n' && r != '\t' && unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	if s != "" && strings.ContainsRune("=+-@\t\n", rune(s[0])) {
		s = "'" + s
	}
	return s
}

// writeCSV writes header and rows (every cell through SafeCell) to path
// atomically: to a temporary file in the same folder, synced, then renamed
// over path, so path is never half written. The file is readable by its
// owner only (0600), like the database it comes from: comments are clinical
// opinions. (internal/atomicfile gives every file 0644.)
func writeCSV(path string, header []string, rows [][]string) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*") // mode 0600
	if err != nil {
		return fmt.Errorf("export %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	defer tmp.Close()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	w := csv.NewWriter(bw)
	_ = w.Write(header)
	cells := make([]string, 0, len(header))
	for _, r := range rows {
		cells = cells[:0]
		for _, c := range r {
			cells = append(cells, SafeCell(c))
		}
		_ = w.Write(cells)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("export %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("export %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("export %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("export %s: %w", path, err)
	}
	return nil
}
