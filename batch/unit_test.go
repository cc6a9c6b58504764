package batch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
)

func TestDiscover(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"a/x.nii.gz":          "n",
		"b/x.nii.gz":          "n",
		"b/deep/y.mha":        "m",
		"series1/IM1":         strings.Repeat("\x00", 128) + "DICM",
		"series1/IM2":         strings.Repeat("\x00", 128) + "DICM",
		"notes/readme.txt":    "r",
		".hidden/z.nii.gz":    "h",
		"mixed/s.nrrd":        "n",
		"mixed/IM1":           strings.Repeat("\x00", 128) + "DICM",
		"solo/IM0":            strings.Repeat("\x00", 128) + "DICM",
		"solo/nested/y.nhdr":  "n",
		"c/.tmp-hidden.nii":   "h",
		"c/not-an-image.json": "{}",
	}
	for p, body := range files {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		os.WriteFile(full, []byte(body), 0o644)
	}
	got, err := Discover([]string{root})
	if err != nil {
		t.Fatal(err)
	}
	var rels []string
	for _, in := range got {
		rels = append(rels, in.Rel)
	}
	want := "a/x b/deep/y b/x mixed/s series1 solo"
	if strings.Join(rels, " ") != want {
		t.Errorf("found %q, want %q", strings.Join(rels, " "), want)
	}
	tests := []struct {
		name string
		path string
		err  string
	}{
		{"missing", filepath.Join(root, "nope"), "no such file"},
		{"empty folder", filepath.Join(root, "notes"), "no image files or DICOM series"},
		{"not a scan", filepath.Join(root, "c/not-an-image.json"), "not a scan"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Discover([]string{tc.path}); err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), tc.path) {
				t.Errorf("err = %v, want %q naming the path", err, tc.err)
			}
		})
	}
}

func TestContentHash(t *testing.T) {
	dir := t.TempDir()
	write := func(p, s string) string {
		full := filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		os.WriteFile(full, []byte(s), 0o644)
		return full
	}
	a := write("one/scan.nii", "abc")
	b := write("two/copy.nii", "abc")
	c := write("three/scan.nii", "abd")
	write("s1/IM1", "x")
	write("s1/IM2", "y")
	write("s2/IM1", "x")
	write("s2/IM2", "y")
	write("s3/IM1", "xy")
	hash := func(p string) string {
		h, err := ContentHash(p)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	if hash(a) != hash(b) || hash(a) == hash(c) {
		t.Error("file hashes: a copy must match, a changed byte must not")
	}
	if hash(filepath.Join(dir, "s1")) != hash(filepath.Join(dir, "s2")) || hash(filepath.Join(dir, "s1")) == hash(filepath.Join(dir, "s3")) {
		t.Error("folder hashes: a copy must match, other files must not")
	}
}

func TestBackoff(t *testing.T) {
	b := backoff{base: time.Second, max: 5 * time.Second}
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {4, 5 * time.Second}, {40, 5 * time.Second}} {
		got := time.Until(b.NextRetry(&rivertype.JobRow{Attempt: tc.attempt}))
		if got < tc.want-100*time.Millisecond || got > tc.want {
			t.Errorf("attempt %d: retry in %v, want %v", tc.attempt, got, tc.want)
		}
	}
}

func TestHidePassword(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://otoseg:s3cret@db:5432/q": "postgres://otoseg:xxxxx@db:5432/q",
		"postgres://otoseg@db/q":             "postgres://otoseg@db/q",
		"queue.db":                           "queue.db",
	} {
		if got := hidePassword(in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

// TestGiveUp: a job that always fails is retried up to its attempt limit,
// then reported failed with its last error.
func TestGiveUp(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeScans(t, filepath.Join(dir, "in"), 2)
	q, err := Open(ctx, filepath.Join(dir, "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	inputs, _ := Discover([]string{filepath.Join(dir, "in")})
	if _, err := Submit(ctx, q, inputs, SubmitOptions{Out: filepath.Join(dir, "out"), ModelSum: "m", MaxAttempts: 2}); err != nil {
		t.Fatal(err)
	}
	attempts := map[string]int{}
	handle := func(ctx context.Context, j Job) error {
		attempts[j.Args.Input]++
		if strings.Contains(j.Args.Input, "site-b") {
			return errors.New("scanner exploded")
		}
		return nil
	}
	err = Work(ctx, ctx, q, handle, WorkerOptions{Jobs: 1, RetryBase: 10 * time.Millisecond, PollInterval: 50 * time.Millisecond, UntilEmpty: true, Log: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	st, err := GetStatus(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if st.Completed != 1 || st.Failed != 1 || len(st.FailedInputs) != 1 {
		t.Fatalf("status %+v", st)
	}
	f := st.FailedInputs[0]
	if !strings.Contains(f.Input, "site-b") || f.Attempts != 2 || f.Error != "scanner exploded" || attempts[f.Input] != 2 {
		t.Errorf("failed input %+v after %d runs", f, attempts[f.Input])
	}
}
