package truth

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/otoseg/otoseg/internal/atomicfile"
)

// Run validates a cohort and writes measure_errors.md (the tables),
// measure_errors.csv (every ear and figure) and measure_errors.json (the
// groups) to outDir when set; the tables also go to w.
func Run(manifest string, o Options, outDir, title string, w io.Writer) ([]Group, error) {
	rows, err := Validate(manifest, o)
	if err != nil {
		return nil, err
	}
	groups := Summarize(rows)
	WriteMarkdown(w, title, groups)
	if outDir == "" {
		return groups, nil
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	writes := []struct {
		name string
		f    func(io.Writer) error
	}{
		{"measure_errors.md", func(w io.Writer) error { WriteMarkdown(w, title, groups); return nil }},
		{"measure_errors.csv", func(w io.Writer) error { return WriteCSV(w, rows) }},
		{"measure_errors.json", func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(map[string]any{"groups": groups, "ears": rows})
		}},
	}
	for _, x := range writes {
		p := filepath.Join(outDir, x.name)
		if err := atomicfile.Write(p, x.f); err != nil {
			return nil, fmt.Errorf("truth: writing %s: %w", p, err)
		}
	}
	return groups, nil
}
