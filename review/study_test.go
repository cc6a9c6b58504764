package review

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeManifest(t *testing.T, dir, rows string) {
	t.Helper()
	h := "case_id,image,label,center,split,subgroup,pathology,spacing_mm,manual_seconds\n"
	if err := os.WriteFile(filepath.Join(dir, "manifest.csv"), []byte(h+rows), 0o644); err != nil {
		t.Fatal(err)
	}
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestStudyConfinesPaths: manifest paths that leave the study folder, by
// "..", by an absolute path or through a symbolic link, are refused when
// the study opens; case ids that are not file-name safe never get that far.
func TestStudyConfinesPaths(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.nii.gz")
	touch(t, secret)
	for _, tc := range []struct {
		name, rows string
		setup      func(dir string)
		wantErr    string
	}{
		{"dotdot image", "c1,{REL},,x,external,normal,,,\n", nil, "outside the study folder"},
		{"dotdot deep", "c1,images/../../../../../../etc/passwd,,x,external,normal,,,\n", nil, "outside the study folder"},
		{"absolute image", "c1," + secret + ",,x,external,normal,,,\n", nil, "outside the study folder"},
		{"absolute label", "c1,images/c1.nii.gz," + secret + ",x,external,normal,,,\n", nil, "outside the study folder"},
		{"symlinked image", "c1,images/link.nii.gz,,x,external,normal,,,\n", func(dir string) {
			if err := os.Symlink(secret, filepath.Join(dir, "images", "link.nii.gz")); err != nil {
				t.Fatal(err)
			}
		}, "outside the study folder"},
		{"symlinked prediction", "c1,images/c1.nii.gz,,x,external,normal,,,\n", func(dir string) {
			os.Remove(filepath.Join(dir, PredictionsDir, "c1.nii.gz"))
			if err := os.Symlink(secret, filepath.Join(dir, PredictionsDir, "c1.nii.gz")); err != nil {
				t.Fatal(err)
			}
		}, "outside the study folder"},
		{"folder as image", "c1,images,,x,external,normal,,,\n", nil, "not a regular file"},
		{"bad case id", "../c1,images/c1.nii.gz,,x,external,normal,,,\n", nil, "case_id"},
		{"slash in case id", "a/b,images/c1.nii.gz,,x,external,normal,,,\n", nil, "case_id"},
		{"missing image", "c1,images/none.nii.gz,,x,external,normal,,,\n", nil, "no such file"},
		{"no predictions", "c2,images/c1.nii.gz,,x,external,normal,,,\n", nil, "no case has a prediction"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			touch(t, filepath.Join(dir, "images", "c1.nii.gz"))
			touch(t, filepath.Join(dir, PredictionsDir, "c1.nii.gz"))
			rel, err := filepath.Rel(dir, secret)
			if err != nil {
				t.Fatal(err)
			}
			writeManifest(t, dir, strings.ReplaceAll(tc.rows, "{REL}", filepath.ToSlash(rel)))
			if tc.setup != nil {
				tc.setup(dir)
			}
			_, err = OpenStudy(dir, false)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestStudySkipsAndConfinesLater(t *testing.T) {
	dir := t.TempDir()
	touch(t, filepath.Join(dir, "images", "c1.nii.gz"))
	touch(t, filepath.Join(dir, "images", "c2.nii.gz"))
	touch(t, filepath.Join(dir, "labels", "c1.nii.gz"))
	touch(t, filepath.Join(dir, PredictionsDir, "c1.nii.gz"))
	touch(t, filepath.Join(dir, PredictionsDir, "c2.nii.gz"))
	touch(t, filepath.Join(dir, PredictionsDir, "c3.nii.gz"))
	writeManifest(t, dir, "c1,images/c1.nii.gz,labels/c1.nii.gz,c1,external,normal,,,\n"+
		"c2,images/c2.nii.gz,,b,external,normal,,,\n"+"c3,images/c2.nii.gz,,b,external,normal,,,\n"+"c4,images/c2.nii.gz,,b,external,normal,,,\n")
	s, err := OpenStudy(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.IDs(), ","); got != "c1,c2,c3" || len(s.Skipped) != 1 {
		t.Fatalf("cases %s, skipped %v", got, s.Skipped)
	}
	if _, ok := s.Case("../c1"); ok {
		t.Fatal("found a case by a traversal id")
	}
	// case id "c1" contains centre "c1": whoever sees the id learns the centre
	if w := s.BlindingWarnings(); len(w) != 1 || !strings.Contains(w[0], "c1") {
		t.Fatalf("blinding warnings %v", w)
	}
	s, err = OpenStudy(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.IDs(), ","); got != "c1" {
		t.Fatalf("compare mode cases %s, want only the one with a manual label", got)
	}
	// A file swapped for a link after start-up is refused at read time.
	c, _ := s.Case("c1")
	outside := filepath.Join(t.TempDir(), "x.nii.gz")
	touch(t, outside)
	os.Remove(c.Prediction)
	if err := os.Symlink(outside, c.Prediction); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Confine(c.Prediction); err == nil {
		t.Fatal("link out of the study accepted")
	}
}

func TestAssignmentsRandomAndStable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	st, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ids := make([]string, 30)
	for i := range ids {
		ids[i] = "case" + string(rune('A'+i/26)) + string(rune('a'+i%26))
	}
	orders := map[string]bool{}
	var first []Assignment
	for r := 0; r < 4; r++ {
		id, err := st.AddReader(ctx, "r"+string(rune('0'+r)), false, KindToken, HashToken(NewToken()), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := st.EnsureAssignments(ctx, id, ids); err != nil {
			t.Fatal(err)
		}
		as, err := st.Assignments(ctx, id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(as) != len(ids) {
			t.Fatalf("%d assignments", len(as))
		}
		seen := map[string]bool{}
		var order []string
		for _, a := range as {
			seen[a.CaseID] = true
			order = append(order, a.CaseID)
		}
		if len(seen) != len(ids) {
			t.Fatal("a case assigned twice")
		}
		orders[strings.Join(order, ",")] = true
		if r == 0 {
			first = as
		}
	}
	if len(orders) != 4 {
		t.Fatalf("%d distinct orders for 4 readers (30 cases)", len(orders))
	}
	// Re-ensuring with more cases keeps the old order and appends.
	st.Close()
	st, err = OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.EnsureAssignments(ctx, 1, append(ids, "late1", "late2")); err != nil {
		t.Fatal(err)
	}
	as, _ := st.Assignments(ctx, 1, nil)
	for i := range first {
		if as[i].CaseID != first[i].CaseID || as[i].AIsAuto != first[i].AIsAuto {
			t.Fatalf("position %d changed after reopening", i)
		}
	}
	if len(as) != 32 || !strings.HasPrefix(as[30].CaseID, "late") || !strings.HasPrefix(as[31].CaseID, "late") {
		t.Fatalf("late cases not appended: %d", len(as))
	}
}

func TestStoreIsWALAndDurable(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "r.db")
	st, err := OpenStore(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mode string
	var sync int
	if err := st.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := st.db.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || sync != 2 {
		t.Fatalf("journal_mode %s, synchronous %d; want wal and 2 (FULL)", mode, sync)
	}
	if fi, err := os.Stat(dbPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("new database mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}
