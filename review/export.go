package review

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/otoseg/otoseg/internal/atomicfile"
)

// ExportColumns is the header of the ratings file the evaluation report
// reads.
var ExportColumns = []string{"case_id", "reader", "likert", "comment", "seconds_spent", "rated_at"}

// HistoryColumns is the header of the audit trail ExportHistory writes.
var HistoryColumns = []string{"case_id", "reader", "segmentation", "likert", "comment", "seconds_spent", "rated_at", "submitted"}

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

// ExportHistory writes every acknowledged rating request, including ratings
// changed later, in the order the server committed them (HistoryColumns;
// segmentation is automated or manual). It returns the number of rows.
func ExportHistory(ctx context.Context, st *Store, path string) (int, error) {
	es, err := st.History(ctx)
	if err != nil {
		return 0, fmt.Errorf("export %s: %w", path, err)
	}
	rows := make([][]string, 0, len(es))
	for _, e := range es {
		rows = append(rows, []string{e.CaseID, e.Reader, e.Source, strconv.Itoa(e.Likert), e.Comment,
			strconv.FormatFloat(e.SecondsSpent, 'f', -1, 64), e.RatedAt.UTC().Format(time.RFC3339), strconv.FormatBool(e.Submit)})
	}
	if err := writeCSV(path, HistoryColumns, rows); err != nil {
		return 0, err
	}
	return len(rows), nil
}

// writeCSV writes header and rows to path atomically (package atomicfile),
// so path is never half written.
func writeCSV(path string, header []string, rows [][]string) error {
	err := atomicfile.Write(path, func(f io.Writer) error {
		w := csv.NewWriter(f)
		_ = w.Write(header)
		for _, r := range rows {
			_ = w.Write(r)
		}
		w.Flush()
		return w.Error()
	})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}
