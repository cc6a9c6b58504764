package evaluate

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeTemp(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadTimes(t *testing.T) {
	tests := []struct {
		name, csv string
		want      map[string]float64
		err       string
	}{
		{"ok", "case_id,seconds\na,12.5\nb,3\n", map[string]float64{"a": 12.5, "b": 3}, ""},
		{"extra columns any order", "seconds,note,case_id\n7,x,a\n", map[string]float64{"a": 7}, ""},
		{"missing column", "case_id,secs\na,1\n", nil, `lacks column "seconds"`},
		{"negative", "case_id,seconds\na,-1\n", nil, "line 2: case a"},
		{"nan", "case_id,seconds\na,NaN\n", nil, "not a positive number"},
		{"duplicate", "case_id,seconds\na,1\na,2\n", nil, "appears twice"},
		{"empty", "", nil, "empty file"},
		{"ragged", "case_id,seconds\na,1,2\n", nil, "fields"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeTemp(t, "t.csv", tc.csv)
			got, err := ReadTimes(p)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), p) {
					t.Fatalf("error %v, want one naming %s and containing %q", err, p, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestReadRatings(t *testing.T) {
	p := writeTemp(t, "r.csv", "case_id,reader,likert,comment,seconds_spent,rated_at\n"+
		"a,r1,2,\"ok, minor\",30,2026-01-01T10:00:00Z\n"+
		"a,r1,1,changed my mind,12,2026-01-02T10:00:00Z\n"+
		"a,r1,4,older,5,2025-12-01T10:00:00Z\n"+
		"b,r2,3,,,\n")
	r, err := ReadRatings(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(r) != 2 || r[0].Likert != 1 || r[0].Comment != "changed my mind" || r[1].Likert != 3 {
		t.Fatalf("ratings %+v", r)
	}
	for _, bad := range []struct{ csv, err string }{
		{"case_id,reader,likert\na,r1,5\n", "likert \"5\""},
		{"case_id,reader,likert\na,r1,x\n", "likert"},
		{"case_id,reader\na,r1\n", "lacks column"},
		{"case_id,reader,likert\n,r1,1\n", "empty case_id"},
		{"case_id,reader,likert,seconds_spent\na,r1,1,-3\n", "seconds_spent"},
		{"case_id,reader,likert\n", "no ratings"},
	} {
		p := writeTemp(t, "r.csv", bad.csv)
		if _, err := ReadRatings(p); err == nil || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("%q: error %v, want %q", bad.csv, err, bad.err)
		}
	}
}

func TestReadSidecar(t *testing.T) {
	dir := t.TempDir()
	if _, ok, err := ReadSidecar(filepath.Join(dir, "none.json")); ok || err != nil {
		t.Fatalf("missing sidecar: ok=%v err=%v", ok, err)
	}
	for _, c := range []struct {
		body    string
		ok, err bool
	}{
		{`{"seconds": 41.5, "model": "x"}`, true, false},
		{`{"seconds": -1}`, false, true},
		{`{"time": 3}`, false, false}, // no time: missing, not fatal
		{`{"seconds": 0}`, false, false},
		{`{`, false, true},
	} {
		p := filepath.Join(dir, "s.json")
		os.WriteFile(p, []byte(c.body), 0o644)
		s, ok, err := ReadSidecar(p)
		if ok != c.ok || (err != nil) != c.err || (ok && s != 41.5) {
			t.Errorf("%s: %v %v %v", c.body, s, ok, err)
		}
	}
}

func TestFindPrediction(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "c1.mha"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "c1.nii.gz"), []byte("x"), 0o644)
	if p, err := FindPrediction(dir, "c1"); err != nil || filepath.Base(p) != "c1.nii.gz" {
		t.Fatalf("got %s %v, want the .nii.gz first", p, err)
	}
	if _, err := FindPrediction(dir, "c2"); err == nil || !strings.Contains(err.Error(), "c2") {
		t.Fatalf("missing: %v", err)
	}
}

func FuzzReadRatings(f *testing.F) {
	f.Add("case_id,reader,likert,comment,seconds_spent,rated_at\na,r1,2,x,3,2026-01-01T00:00:00Z\n")
	f.Add("case_id,reader,likert\na,r1,1\na,r1,4\n")
	f.Add("\ufeffcase_id,likert,reader\n\"a\nb\",3,r\n")
	f.Fuzz(func(t *testing.T, s string) {
		p := writeTemp(t, "r.csv", s)
		r, err := ReadRatings(p)
		if err != nil {
			return
		}
		for _, x := range r {
			if x.Likert < 1 || x.Likert > 4 || x.CaseID == "" || x.Reader == "" || x.SecondsSpent < 0 {
				t.Fatalf("invalid rating accepted: %+v", x)
			}
		}
	})
}

func FuzzReadTimes(f *testing.F) {
	f.Add("case_id,seconds\na,1\n")
	f.Add("seconds,case_id\n1e308,a\n2,b\n")
	f.Fuzz(func(t *testing.T, s string) {
		p := writeTemp(t, "t.csv", s)
		m, err := ReadTimes(p)
		if err != nil {
			return
		}
		for k, v := range m {
			if !(v > 0) || math.IsInf(v, 0) {
				t.Fatalf("invalid time accepted: %s=%g", k, v)
			}
		}
	})
}

func FuzzReadSidecar(f *testing.F) {
	f.Add(`{"seconds": 3}`)
	f.Add(`{"seconds": 0}`)
	f.Add(`[1,2]`)
	f.Fuzz(func(t *testing.T, s string) {
		p := writeTemp(t, "s.json", s)
		v, ok, err := ReadSidecar(p)
		if err == nil && ok && !(v > 0) {
			t.Fatalf("invalid seconds accepted: %g", v)
		}
	})
}
