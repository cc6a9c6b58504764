package review

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// ExportColumns is the header of the ratings file the evaluation report
// reads.
var ExportColumns = []string{"case_id", "reader", "likert", "comment", "seconds_spent", "rated_at"}

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
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return 0, fmt.Errorf("export %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return 0, fmt.Errorf("export %s: %w", path, err)
	}
	w := csv.NewWriter(tmp)
	_ = w.Write(ExportColumns)
	n := 0
	for _, r := range rs {
		if o.SubmittedOnly && !r.Submitted {
			continue
		}
		_ = w.Write([]string{r.CaseID, r.Reader, strconv.Itoa(r.Likert), r.Comment,
			strconv.FormatFloat(r.SecondsSpent, 'f', -1, 64), r.RatedAt.UTC().Format(time.RFC3339)})
		n++
	}
	w.Flush()
	if err := w.Error(); err != nil {
		tmp.Close()
		return 0, fmt.Errorf("export %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return 0, fmt.Errorf("export %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return 0, fmt.Errorf("export %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, fmt.Errorf("export %s: %w", path, err)
	}
	return n, nil
}
