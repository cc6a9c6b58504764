package dataset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const header = "case_id,image,label,center,split,subgroup,pathology,spacing_mm,manual_seconds"

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantErr string
		cases   int
	}{
		{"ok", header + "\nc1,images/c1.nii.gz,labels/c1.nii.gz,A,train,normal,none,0.4x0.4x0.6,900\n", "", 1},
		{"extra column", header + ",ears\nc1,i.nii,l.nii,A,external,pathological,ip2,0.4,12,both\n", "", 1},
		{"empty", "", "empty file", 0},
		{"wrong header", "id,image\n", "columns", 0},
		{"renamed column", strings.Replace(header, "split", "set", 1) + "\n", "want \"split\"", 0},
		{"bad split", header + "\nc1,i,l,A,test,normal,none,1,1\n", "split \"test\"", 0},
		{"bad subgroup", header + "\nc1,i,l,A,train,sick,none,1,1\n", "subgroup", 0},
		{"bad seconds", header + "\nc1,i,l,A,train,normal,none,1,-3\n", "manual_seconds", 0},
		{"duplicate", header + "\nc1,i,l,A,train,normal,none,1,1\nc1,i,l,A,train,normal,none,1,1\n", "already used", 0},
		{"traversal id", header + "\n../x,i,l,A,train,normal,none,1,1\n", "case_id", 0},
		{"short row", header + "\nc1,i,l\n", "fields", 0},
		{"no cases", header + "\n", "no cases", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(strings.NewReader(tt.body), "/data")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Cases) != tt.cases {
				t.Fatalf("got %d cases", len(m.Cases))
			}
			if !filepath.IsAbs(m.Cases[0].Image) {
				t.Errorf("image path %q not resolved against the manifest folder", m.Cases[0].Image)
			}
		})
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cases := []Case{{ID: "p001", Image: filepath.Join(dir, "images/p001.nii.gz"), Label: filepath.Join(dir, "labels/p001.nii.gz"),
		Center: "A", Split: SplitTrain, Subgroup: SubgroupPathological, Pathology: "ip2:0.5", SpacingMM: "0.4x0.4x0.6", ManualSeconds: 1234.5,
		Extra: map[string]string{"ears": "left,right"}}}
	p := filepath.Join(dir, "manifest.csv")
	if err := Write(p, cases, []string{"ears"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if !strings.Contains(string(b), "images/p001.nii.gz") {
		t.Errorf("paths not written relative: %s", b)
	}
	m, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	got := m.Cases[0]
	if got.Image != cases[0].Image || got.ManualSeconds != 1234.5 || got.Extra["ears"] != "left,right" || got.Pathology != "ip2:0.5" {
		t.Errorf("round trip: %+v", got)
	}
}
