package pacs

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otoseg/otoseg/batch"
	"github.com/otoseg/otoseg/batch/segjob"
	"github.com/otoseg/otoseg/imageio/dicom"
	"github.com/otoseg/otoseg/imageio/dicomseg"
	"github.com/otoseg/otoseg/internal/orthanctest"
	"github.com/otoseg/otoseg/phantom"
)

// uploadPhantom writes a temporal-bone phantom as a DICOM CT series and
// stores it in the PACS with STOW-RS; it returns the series' folder.
func uploadPhantom(t *testing.T, c *Client, dir string) string {
	t.Helper()
	centre, _ := phantom.CentreByName("C")
	img, _, _, err := phantom.Generate(phantom.Config{Centre: centre, Seed: 12})
	if err != nil {
		t.Fatal(err)
	}
	series := filepath.Join(dir, "ct")
	if err := dicom.WriteSeries(series, img, dicom.WriteOptions{PatientID: "PACS1", PatientName: "Phantom^Twelve", SeriesDescription: "temporal bone"}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(series, "*.dcm"))
	var all [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b)
	}
	if err := c.Store(context.Background(), all...); err != nil {
		t.Fatal(err)
	}
	return series
}

// TestOrthancRoundTrip: a phantom CT series in a real Orthanc is found,
// retrieved, segmented, and its Segmentation stored in the same study,
// referencing the series; polls and restarts after that add nothing.
func TestOrthancRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := orthanctest.Start(t, "otoseg", "s3cret pass")
	dir := t.TempDir()
	client := &Client{Base: srv.DICOMweb(), User: srv.User, Password: srv.Password}
	series := uploadPhantom(t, client, dir)
	ref, err := dicom.ReadReference(series, dicom.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var stats struct{ CountInstances int }
	srv.Get(t, "/statistics", &stats)
	if stats.CountInstances != len(ref.Instances) {
		t.Fatalf("Orthanc holds %d instances after STOW-RS, want %d", stats.CountInstances, len(ref.Instances))
	}
	proc, err := SegmentProcessor(SegmentOptions{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	filters, _ := ParseFilters("Modality=CT", "")
	state := filepath.Join(dir, "state.json")
	w := &Watcher{Client: client, Filters: filters, StatePath: state, Process: proc, WorkDir: dir}
	rep, err := w.Poll(ctx)
	if err != nil || rep.Found != 1 || rep.Stored != 1 {
		t.Fatalf("first poll %+v, %v", rep, err)
	}
	segs, err := client.SearchSeries(ctx, url.Values{"Modality": {"SEG"}})
	if err != nil || len(segs) != 1 {
		t.Fatalf("SEG series in Orthanc: %v, %v", segs, err)
	}
	if segs[0].Study != ref.StudyUID {
		t.Errorf("SEG stored in study %s, want the CT's %s", segs[0].Study, ref.StudyUID)
	}
	got := filepath.Join(dir, "seg")
	if n, err := client.RetrieveSeries(ctx, segs[0].Study, segs[0].Series, got); err != nil || n != 1 {
		t.Fatalf("retrieving the SEG: %d, %v", n, err)
	}
	v, info, err := dicomseg.Read(filepath.Join(got, "000001.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	if info.ReferencedSeries != ref.SeriesUID || !v.SameGrid(ref.Geometry, 1e-6) {
		t.Errorf("SEG references %s on %v, want %s on %v", info.ReferencedSeries, v.Dims, ref.SeriesUID, ref.Geometry.Dims)
	}
	labelled := 0
	for _, x := range v.Data {
		if x > 0 {
			labelled++
		}
	}
	if labelled < 1000 {
		t.Errorf("the stored SEG labels %d voxels: no ear", labelled)
	}
	// A second poll, and a restarted watcher, do nothing more.
	w2 := &Watcher{Client: client, Filters: filters, StatePath: state, Process: proc, WorkDir: dir}
	if rep, err := w2.Poll(ctx); err != nil || rep.Processed != 0 || rep.Skipped != 1 {
		t.Fatalf("poll after restart %+v, %v", rep, err)
	}
	// Lost state (a crash before it was saved): the series is processed
	// again, and the same Segmentation instance replaces itself.
	os.Remove(state)
	if rep, err := w2.Poll(ctx); err != nil || rep.Stored != 1 {
		t.Fatalf("poll without state %+v, %v", rep, err)
	}
	srv.Get(t, "/statistics", &stats)
	if stats.CountInstances != len(ref.Instances)+1 {
		t.Errorf("Orthanc holds %d instances, want the series and one SEG", stats.CountInstances)
	}
	// Basic authentication is enforced and a wrong password says so.
	bad := &Client{Base: srv.DICOMweb(), User: "otoseg", Password: "wrong"}
	if _, err := bad.SearchSeries(ctx, filters); err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "--user") {
		t.Errorf("wrong password: %v", err)
	}
}

func TestParseFilters(t *testing.T) {
	tests := []struct {
		filter, since, want, err string
	}{
		{"Modality=CT", "", "Modality=CT", ""},
		{"modality=CT,BodyPartExamined=HEAD", "2026-12-01", "BodyPartExamined=HEAD&Modality=CT&StudyDate=20261201-", ""},
		{"", "20260102", "StudyDate=20260102-", ""},
		{"CT", "", "", "KEY=VALUE"},
		{"Modality=CT", "yesterday", "", "want a date"},
	}
	for _, tc := range tests {
		q, err := ParseFilters(tc.filter, tc.since)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q %q: err %v, want %q", tc.filter, tc.since, err, tc.err)
			}
			continue
		}
		if err != nil || q.Encode() != tc.want {
			t.Errorf("%q %q: %q %v, want %q", tc.filter, tc.since, q.Encode(), err, tc.want)
		}
	}
}

func TestPassword(t *testing.T) {
	t.Setenv("OTOSEG_TEST_PW", "from-env")
	file := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(file, []byte("from-file\r\nignored\n"), 0o600)
	if p, _ := Password("OTOSEG_TEST_PW", ""); p != "from-env" {
		t.Errorf("env: %q", p)
	}
	if p, _ := Password("OTOSEG_TEST_PW", file); p != "from-file" {
		t.Errorf("file: %q", p)
	}
	if _, err := Password("X", filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("missing password file accepted")
	}
}

// TestBadServers: answers that are not DICOMweb are errors that say so.
func TestBadServers(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		err     string
	}{
		{"server error", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "disk full", 500) }, "500 Internal Server Error: disk full"},
		{"not multipart", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, "{}")
		}, "not multipart DICOM"},
		{"no instances", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", `multipart/related; type="application/dicom"; boundary=xyz`)
			io.WriteString(w, "--xyz--\r\n")
		}, "no instances"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			c := &Client{Base: srv.URL}
			_, err := c.RetrieveSeries(context.Background(), "1.2", "3.4", t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("err = %v, want %q", err, tc.err)
			}
		})
	}
}

func TestStateFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "state.json")
	os.WriteFile(bad, []byte("{not json"), 0o644)
	if _, err := LoadState(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("corrupt state: %v", err)
	}
	s, err := LoadState(filepath.Join(dir, "none.json"))
	if err != nil || len(s.Series) != 0 {
		t.Errorf("missing state: %v %v", s, err)
	}
	s.Series["1.2.3"] = &Entry{Status: "done"}
	p := filepath.Join(dir, "new.json")
	if err := s.save(p); err != nil {
		t.Fatal(err)
	}
	back, err := LoadState(p)
	if err != nil || back.Series["1.2.3"].Status != "done" {
		t.Errorf("state round trip: %+v %v", back, err)
	}
}

// FuzzWriteParts: any body gives files or an error, never a panic.
func FuzzWriteParts(f *testing.F) {
	f.Add([]byte("--b\r\nContent-Type: application/dicom\r\n\r\nDICM\r\n--b--\r\n"))
	f.Add([]byte("--b\r\n\r\n--b--"))
	f.Fuzz(func(t *testing.T, body []byte) {
		dir := t.TempDir()
		n, err := writeParts(strings.NewReader(string(body)), "b", dir)
		files, _ := os.ReadDir(dir)
		if err == nil && (n == 0 || len(files) != n) {
			t.Fatalf("%d parts reported, %d files", n, len(files))
		}
	})
}

// TestOrthancThroughQueue: with a batch queue the watcher hands the series
// to a worker and stores the worker's Segmentation at a later poll.
func TestOrthancThroughQueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := orthanctest.Start(t, "otoseg", "pw")
	dir := t.TempDir()
	client := &Client{Base: srv.DICOMweb(), User: srv.User, Password: srv.Password}
	series := uploadPhantom(t, client, dir)
	ref, err := dicom.ReadReference(series, dicom.Options{})
	if err != nil {
		t.Fatal(err)
	}
	q, err := batch.Open(ctx, filepath.Join(dir, "queue.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	spool := filepath.Join(dir, "spool")
	os.MkdirAll(spool, 0o755)
	proc, check, err := QueueProcessor(QueueOptions{Queue: q, Spool: spool})
	if err != nil {
		t.Fatal(err)
	}
	filters, _ := ParseFilters("Modality=CT", "")
	w := &Watcher{Client: client, Filters: filters, StatePath: filepath.Join(dir, "state.json"), Process: proc, Check: check, WorkDir: spool}
	if rep, err := w.Poll(ctx); err != nil || rep.Queued != 1 || rep.Stored != 0 {
		t.Fatalf("first poll %+v, %v", rep, err)
	}
	if rep, err := w.Poll(ctx); err != nil || rep.Queued != 1 || rep.Processed != 0 {
		t.Fatalf("poll before the worker ran %+v, %v", rep, err)
	}
	err = batch.Work(ctx, ctx, q, segjob.Handler(segjob.Options{Version: "test"}), batch.WorkerOptions{PollInterval: 100 * time.Millisecond, UntilEmpty: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := w.Poll(ctx); err != nil || rep.Stored != 1 {
		t.Fatalf("poll after the worker %+v, %v", rep, err)
	}
	segs, err := client.SearchSeries(ctx, url.Values{"Modality": {"SEG"}})
	if err != nil || len(segs) != 1 || segs[0].Study != ref.StudyUID {
		t.Fatalf("SEG series in Orthanc: %+v, %v", segs, err)
	}
	if rep, err := w.Poll(ctx); err != nil || rep.Skipped != 1 || rep.Stored+rep.Queued+rep.Processed != 0 {
		t.Fatalf("last poll %+v, %v", rep, err)
	}
	if left, _ := os.ReadDir(filepath.Join(spool, "series")); len(left) != 0 {
		t.Errorf("the retrieved series stayed in the spool: %v", left)
	}
}
