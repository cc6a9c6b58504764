package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/volume"
)

// TestReviewCommands runs readers add/list, serve, a scripted sign-in and
// rating over HTTP as docs/review.md describes it, and export.
func TestReviewCommands(t *testing.T) {
	dir := t.TempDir()
	g := volume.NewGeometry([3]int{12, 10, 6}, [3]float64{0.5, 0.5, 0.5})
	ct, lab := volume.New(g, volume.Int16), volume.New(g, volume.Uint8)
	for i := range ct.Data {
		ct.Data[i] = float32(i % 2000)
	}
	lab.Set(5, 5, 3, 1)
	lab.Set(6, 5, 3, 2)
	for _, f := range []struct {
		p string
		v *volume.Volume
	}{{"img/a.nii.gz", ct}, {"lab/a.nii.gz", lab}, {"predictions/a.nii.gz", lab}} {
		p := filepath.Join(dir, f.p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := imageio.Write(p, f.v); err != nil {
			t.Fatal(err)
		}
	}
	m := "case_id,image,label,center,split,subgroup,pathology,spacing_mm,manual_seconds\na,img/a.nii.gz,lab/a.nii.gz,x,external,normal,,,\n"
	if err := os.WriteFile(filepath.Join(dir, "manifest.csv"), []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var out bytes.Buffer
	if err := runReviewReaders(ctx, "add", "alice", reviewReaderOptions{Study: dir}, nil, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	token := lines[len(lines)-1]
	if len(token) != 43 {
		t.Fatalf("token %q", token)
	}
	if err := runReviewReaders(ctx, "add", "alice", reviewReaderOptions{Study: dir}, nil, &out); err == nil {
		t.Fatal("duplicate reader accepted")
	}
	if err := runReviewReaders(ctx, "add", "bob", reviewReaderOptions{Study: dir, PasswordStdin: true}, strings.NewReader("a long password\n"), &out); err != nil {
		t.Fatal(err)
	}
	if err := runReviewReaders(ctx, "add", "carol", reviewReaderOptions{Study: dir, Password: "another long one"}, nil, &out); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := runReviewReaders(ctx, "list", "", reviewReaderOptions{Study: dir}, nil, &out); err != nil || !strings.Contains(out.String(), "bob") || !strings.Contains(out.String(), "password") {
		t.Fatalf("list: %v\n%s", err, out.String())
	}

	sctx, cancel := context.WithCancel(ctx)
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runReviewServe(sctx, reviewServeOptions{Study: dir, Addr: "127.0.0.1:0", CacheMB: 64, SessionHours: 1}, &bytes.Buffer{}, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatal(err)
	case <-time.After(20 * time.Second):
		t.Fatal("server did not start")
	}
	base := "http://" + addr
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	post := func(path, csrf string, body any) map[string]any {
		t.Helper()
		j, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader(j))
		req.Header.Set("Content-Type", "application/json")
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&v)
		if resp.StatusCode != 200 {
			t.Fatalf("POST %s: %d %v", path, resp.StatusCode, v)
		}
		return v
	}
	// A Host the server does not answer to (DNS rebinding) is refused.
	evil, _ := http.NewRequest("GET", base+"/login", nil)
	evil.Host = "evil.example"
	if resp, err := hc.Do(evil); err != nil || resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("Host evil.example: %v %v, want 421", resp, err)
	} else {
		resp.Body.Close()
	}
	login := post("/api/login", "", map[string]string{"reader": "alice", "token": token})
	csrf, _ := login["csrf_token"].(string)
	// Readers see opaque case keys, never case ids: the case id is refused
	// and the key comes from the case list.
	resp, err := hc.Get(base + "/api/cases")
	if err != nil {
		t.Fatal(err)
	}
	var cases struct {
		Resume string `json:"resume"`
	}
	err = json.NewDecoder(resp.Body).Decode(&cases)
	resp.Body.Close()
	if err != nil || cases.Resume == "" || cases.Resume == "a" {
		t.Fatalf("case list: %v, resume %q", err, cases.Resume)
	}
	req, _ := http.NewRequest("POST", base+"/api/ratings", strings.NewReader(`{"case_id":"a","likert":3}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	if resp, err := hc.Do(req); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("rating by case id: %v %v, want 404", resp, err)
	} else {
		resp.Body.Close()
	}
	post("/api/ratings", csrf, map[string]any{"case_id": cases.Resume, "likert": 3, "comment": "gap, \"apex\"", "seconds_spent": 42})
	post("/api/cases/"+cases.Resume+"/submit", csrf, nil)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	csvPath := filepath.Join(t.TempDir(), "ratings.csv")
	var log bytes.Buffer
	if err := runReviewExport(ctx, reviewExportOptions{Study: dir, Out: csvPath, Segmentation: "automated"}, &log); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(rows) != 2 || rows[0] != "case_id,reader,likert,comment,seconds_spent,rated_at" ||
		!strings.HasPrefix(rows[1], `a,alice,3,"gap, ""apex""",42,`) || !strings.HasSuffix(rows[1], "Z") {
		t.Fatalf("export:\n%s", b)
	}
	histPath := filepath.Join(t.TempDir(), "history.csv")
	if err := runReviewExport(ctx, reviewExportOptions{Study: dir, Out: histPath, History: true}, &log); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(histPath)
	hist := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(hist) != 3 || hist[0] != "case_id,reader,segmentation,likert,comment,seconds_spent,rated_at,submitted,action" ||
		!strings.HasPrefix(hist[1], "a,alice,automated,3,") || !strings.HasSuffix(hist[1], "Z,false,rate") ||
		!strings.HasPrefix(hist[2], "a,alice,automated,3,") || !strings.HasSuffix(hist[2], "Z,true,submit") {
		t.Fatalf("history (rating, then submission):\n%s", b)
	}
	for _, p := range []string{csvPath, histPath} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, %v; want mode 0600 like the database", p, fi.Mode(), err)
		}
	}
	if err := runReviewExport(ctx, reviewExportOptions{Study: t.TempDir(), Out: csvPath}, &log); err == nil {
		t.Fatal("export of a study without a database succeeded")
	}
}

// TestReviewHosts: the Host allow-list of review serve is --host plus the
// listen address's host, or the machine's names when that is unspecified.
func TestReviewHosts(t *testing.T) {
	name, _ := os.Hostname()
	for _, tc := range []struct {
		addr  string
		extra []string
		want  []string // must all be in the list
		not   []string
	}{
		{"127.0.0.1:8080", nil, []string{"127.0.0.1"}, []string{name}},
		{"review.example.org:443", []string{"alias.example.org"}, []string{"review.example.org", "alias.example.org"}, []string{name}},
		{"[::1]:8080", nil, []string{"::1"}, []string{name}},
		{"0.0.0.0:8080", nil, []string{name, "127.0.0.1"}, []string{"0.0.0.0"}},
		{":8080", []string{"x.example"}, []string{name, "x.example"}, nil},
	} {
		got := reviewHosts(tc.addr, tc.extra)
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("--addr %s --host %v: %v lacks %q", tc.addr, tc.extra, got, w)
			}
		}
		for _, n := range tc.not {
			if slices.Contains(got, n) {
				t.Errorf("--addr %s --host %v: %v has %q", tc.addr, tc.extra, got, n)
			}
		}
	}
}

// TestReviewServeTLS: with --tls-cert/--tls-key the app is served over HTTPS
// and the session cookie is Secure.
func TestReviewServeTLS(t *testing.T) {
	dir := t.TempDir()
	g := volume.NewGeometry([3]int{8, 8, 4}, [3]float64{1, 1, 1})
	v := volume.New(g, volume.Uint8)
	for _, p := range []string{"img/a.nii.gz", "predictions/a.nii.gz"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := imageio.Write(filepath.Join(dir, p), v); err != nil {
			t.Fatal(err)
		}
	}
	m := "case_id,image,label,center,split,subgroup,pathology,spacing_mm,manual_seconds\na,img/a.nii.gz,,x,external,normal,,,\n"
	if err := os.WriteFile(filepath.Join(dir, "manifest.csv"), []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM := selfSigned(t)
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(cert, certPEM, 0o600)
	_ = os.WriteFile(key, keyPEM, 0o600)
	var out bytes.Buffer
	if err := runReviewReaders(context.Background(), "add", "alice", reviewReaderOptions{Study: dir}, nil, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	token := lines[len(lines)-1]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- runReviewServe(ctx, reviewServeOptions{Study: dir, Addr: "127.0.0.1:0", CacheMB: 16, SessionHours: 1, TLSCert: cert, TLSKey: key}, &bytes.Buffer{}, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := hc.Post("https://"+addr+"/api/login", "application/json", strings.NewReader(`{"reader":"alice","token":"`+token+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(resp.Cookies()) != 1 || !resp.Cookies()[0].Secure {
		t.Fatalf("login over TLS: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})
}
