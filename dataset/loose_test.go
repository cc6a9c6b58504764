package dataset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadAny: the full manifest is read as Read reads it; any other CSV
// needs only case_id,image,label, with the other columns checked when present.
func TestReadAny(t *testing.T) {
	full := "case_id,image,label,center,split,subgroup,pathology,spacing_mm,manual_seconds"
	for _, tc := range []struct {
		name, csv string
		err       string
		check     func(t *testing.T, m *Manifest)
	}{
		{"full manifest read by dataset", full + ",meta\nc1,i.nii,l.nii,A,train,normal,none,0.4,900,meta/c1.json\n", "", func(t *testing.T, m *Manifest) {
			c := m.Cases[0]
			if c.Center != "A" || c.ManualSeconds != 900 || c.Extra["meta"] != "meta/c1.json" || !strings.HasSuffix(c.Label, "l.nii") {
				t.Errorf("case %+v", c)
			}
		}},
		{"minimal", "case_id,image,label\nc1,img/c1.nii.gz,lab/c1.nii.gz\nc2,,lab/c2.nii.gz\nc3,img/c3.nii.gz,\n", "", func(t *testing.T, m *Manifest) {
			if len(m.Cases) != 3 || m.Cases[0].Split != "" || m.Cases[1].Image != "" || m.Cases[2].Label != "" {
				t.Errorf("cases %+v", m.Cases)
			}
			if !filepath.IsAbs(m.Cases[0].Label) && !strings.Contains(m.Cases[0].Label, "lab") {
				t.Errorf("label not resolved: %s", m.Cases[0].Label)
			}
		}},
		{"any order, optional columns, extras kept", "label,manual_seconds,case_id,pathology,image,center,note,manual_seconds_simulated,scanner\nl.nii,1200,c1,EVA,i.nii,Site1,x,yes,CBCT\n", "", func(t *testing.T, m *Manifest) {
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
			m, err := ReadAny(p)
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

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
