package evaluate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/dataset"
)

func TestReadManifest(t *testing.T) {
	full := "case_id,image,label,center,split,subgroup,pathology,spacing_mm,manual_seconds"
	for _, tc := range []struct {
		name, csv string
		err       string
		check     func(t *testing.T, m *dataset.Manifest)
	}{
		{"full manifest read by dataset", full + ",meta\nc1,i.nii,l.nii,A,train,normal,none,0.4,900,meta/c1.json\n", "", func(t *testing.T, m *dataset.Manifest) {
			c := m.Cases[0]
			if c.Center != "A" || c.ManualSeconds != 900 || c.Extra["meta"] != "meta/c1.json" || !strings.HasSuffix(c.Label, "l.nii") {
				t.Errorf("case %+v", c)
			}
		}},
		{"minimal", "case_id,image,label\nc1,img/c1.nii.gz,lab/c1.nii.gz\nc2,,lab/c2.nii.gz\nc3,img/c3.nii.gz,\n", "", func(t *testing.T, m *dataset.Manifest) {
			if len(m.Cases) != 3 || m.Cases[0].Split != "" || m.Cases[1].Image != "" || m.Cases[2].Label != "" {
				t.Errorf("cases %+v", m.Cases)
			}
			if !filepath.IsAbs(m.Cases[0].Label) && !strings.Contains(m.Cases[0].Label, "lab") {
				t.Errorf("label not resolved: %s", m.Cases[0].Label)
			}
		}},
		{"any order, optional columns, extras kept", "label,manual_seconds,case_id,pathology,image,center,note,manual_seconds_simulated,scanner\nl.nii,1200,c1,EVA,i.nii,Site1,x,yes,CBCT\n", "", func(t *testing.T, m *dataset.Manifest) {
			c := m.Cases[0]
			if c.ID != "c1" || c.ManualSeconds != 1200 || c.Pathology != "EVA" || c.Center != "Site1" || c.Extra["note"] != "x" ||
				c.Extra["manual_seconds_simulated"] != "yes" || c.Extra["scanner"] != "CBCT" {
				t.Errorf("case %+v", c)
			}
		}},
		{"split and subgroup checked", "case_id,image,label,split,subgroup\nc1,i,l,external,pathological\n", "", nil},
		{"bad split", "case_id,image,label,split\nc1,i,l,test\n", `split "test"`, nil},
		{"bad subgroup", "case_id,image,label,subgroup\nc1,i,l,sick\n", `subgroup "sick"`, nil},
		{"bad seconds", "case_id,image,label,manual_seconds\nc1,i,l,-5\n", "manual_seconds", nil},
		{"bad simulated flag", "case_id,image,label,manual_seconds_simulated\nc1,i,l,maybe\n", "manual_seconds_simulated", nil},
		{"duplicate id", "case_id,image,label\nc1,i,l\nc1,i,l\n", "already used", nil},
		{"unsafe id", "case_id,image,label\n../x,i,l\n", "case_id", nil},
		{"no label column", "case_id,image\nc1,i\n", `lacks column "label"`, nil},
		{"no cases", "case_id,image,label\n", "no cases", nil},
		{"empty file", "", "empty file", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeTemp(t, "m.csv", tc.csv)
			m, err := ReadManifest(p)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, m)
			}
		})
	}
}

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
	m, err := ReadManifest(man)
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
	m, _ = ReadManifest(man)
	if _, err := readCaseMeta(m); err == nil || !strings.Contains(err.Error(), "case p1: meta") {
		t.Errorf("missing meta: %v", err)
	}
}
