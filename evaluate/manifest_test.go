package evaluate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/dataset"
)

// TestReadCaseMeta: simulated manual times and the scanner come from the
// phantom's meta JSON or from manifest columns; a named meta file that is
// missing is an error, not a silently "measured" time.
func TestReadCaseMeta(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "meta"), 0o755)
	os.WriteFile(filepath.Join(dir, "meta", "p1.json"), []byte(`{"manual_seconds": 2000, "manual_seconds_simulated": true, "centre": {"name": "A", "protocol": "64-slice MDCT"}}`), 0o644)
	man := filepath.Join(dir, "m.csv")
	os.WriteFile(man, []byte("case_id,image,label,manual_seconds,meta,manual_seconds_simulated,scanner\n"+
		"p1,i,l,2000,meta/p1.json,,\n"+
		"u1,i,l,900,,true,CBCT X\n"+
		"u2,i,l,900,,false,\n"), 0o644)
	m, err := dataset.ReadAny(man)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := readCaseMeta(m)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]caseMeta{"p1": {"64-slice MDCT", true}, "u1": {"CBCT X", true}, "u2": {"", false}}
	for id, w := range want {
		if meta[id] != w {
			t.Errorf("%s: %+v, want %+v", id, meta[id], w)
		}
	}
	os.WriteFile(man, []byte("case_id,image,label,meta\np1,i,l,meta/missing.json\n"), 0o644)
	m, _ = dataset.ReadAny(man)
	if _, err := readCaseMeta(m); err == nil || !strings.Contains(err.Error(), "case p1: meta") {
		t.Errorf("missing meta: %v", err)
	}
}
