package review

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otoseg/otoseg/imageio"
)

// Environment of the child server process the crash test re-executes this
// test binary as.
const (
	childStudyEnv = "OTOSEG_REVIEW_CHILD_STUDY"
	childAddrEnv  = "OTOSEG_REVIEW_CHILD_ADDR"
)

func TestMain(m *testing.M) {
	if study := os.Getenv(childStudyEnv); study != "" {
		if err := runChild(study, os.Getenv(childAddrEnv)); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runChild serves the study as `otoseg review serve` does and writes its
// address to addrFile once it listens.
func runChild(study, addrFile string) error {
	st, err := OpenStudy(study, false)
	if err != nil {
		return err
	}
	store, err := OpenStore(DefaultDBPath(st.Dir))
	if err != nil {
		return err
	}
	srv, err := NewServer(Options{Study: st, Store: store, Load: imageio.Read})
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv}
	ln, err := listenLocal()
	if err != nil {
		return err
	}
	tmp := addrFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(ln.Addr().String()), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, addrFile); err != nil {
		return err
	}
	return hs.Serve(ln)
}

type child struct {
	cmd  *exec.Cmd
	base string
}

func startChild(t *testing.T, study string) *child {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "addr")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childStudyEnv+"="+study, childAddrEnv+"="+addrFile)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(addrFile)
		if err == nil {
			return &child{cmd: cmd, base: "http://" + string(b)}
		}
		if time.Now().After(deadline) {
			t.Fatal("child server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// post is a goroutine-safe request helper: it returns an error instead of
// failing the test, since requests fail by design once the server is killed.
func post(hc *http.Client, url, csrf string, body any) (int, []byte, error) {
	j, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(j))
	req.Header.Set("Content-Type", "application/json")
	if csrf != "" {
		req.Header.Set(CSRFHeader, csrf)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

type sentRating struct {
	likert  int
	comment string
}

// TestSIGKILLLosesNoAcknowledgedRating runs the server as a separate process,
// lets 10 readers rate as fast as they can, kills the server with SIGKILL
// mid-stream, restarts it on the same database and checks that every rating
// the server acknowledged is there (a rating in flight at the kill may or
// may not be), and that sessions survive the restart.
func TestSIGKILLLosesNoAcknowledgedRating(t *testing.T) {
	const readers, cases = 10, 4
	dir := makeStudy(t, cases, [3]int{8, 8, 4})
	store, err := OpenStore(DefaultDBPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{}
	for i := 0; i < readers; i++ {
		name := fmt.Sprintf("r%02d", i)
		if tokens[name], err = AddReader(context.Background(), store, name, false, ""); err != nil {
			t.Fatal(err)
		}
	}
	store.Close()

	ch := startChild(t, dir)
	type state struct {
		hc       *http.Client
		csrf     string
		acked    map[string]sentRating // case -> last acknowledged
		inflight map[string]sentRating // case -> sent, not acknowledged when the server died
		keys     []string              // the reader's case keys
	}
	states := map[string]*state{}
	for name, tok := range tokens {
		jar, _ := cookiejar.New(nil)
		hc := &http.Client{Jar: jar, Timeout: 20 * time.Second}
		status, body, err := post(hc, ch.base+"/api/login", "", map[string]string{"reader": name, "token": tok})
		if err != nil || status != 200 {
			t.Fatalf("login %s: %d %s %v", name, status, body, err)
		}
		var lr loginResponse
		_ = json.Unmarshal(body, &lr)
		// the reader's case keys (readers never see case ids)
		resp, err := hc.Get(ch.base + "/api/cases")
		if err != nil {
			t.Fatal(err)
		}
		var l casesResp
		err = json.NewDecoder(resp.Body).Decode(&l)
		resp.Body.Close()
		if err != nil || len(l.Cases) != cases {
			t.Fatalf("cases of %s: %v, %d cases", name, err, len(l.Cases))
		}
		st := &state{hc: hc, csrf: lr.CSRFToken, acked: map[string]sentRating{}, inflight: map[string]sentRating{}}
		for _, c := range l.Cases {
			st.keys = append(st.keys, c.CaseID)
		}
		states[name] = st
	}
	var total atomic.Int64
	var wg sync.WaitGroup
	for name, s := range states {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				id := s.keys[n%cases]
				r := sentRating{likert: 1 + n%4, comment: fmt.Sprintf("%s #%d", name, n)}
				s.inflight[id] = r
				status, body, err := post(s.hc, ch.base+"/api/ratings", s.csrf, map[string]any{"case_id": id, "likert": r.likert, "comment": r.comment, "seconds_spent": n})
				if err != nil {
					return // the server is gone; this rating stays in flight
				}
				if status != 200 {
					t.Errorf("%s: %d %s", name, status, body)
					return
				}
				delete(s.inflight, id)
				s.acked[id] = r
				total.Add(1)
			}
		}()
	}
	for total.Load() < 150 {
		time.Sleep(5 * time.Millisecond)
	}
	if err := ch.cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	_ = ch.cmd.Wait()
	wg.Wait()
	acked := total.Load()

	ch2 := startChild(t, dir)
	checked := 0
	for name, s := range states {
		// the session cookie from before the crash still works
		req, _ := http.NewRequest("GET", ch2.base+"/api/ratings", nil)
		for _, ck := range s.hc.Jar.Cookies(mustURL(ch.base)) {
			req.AddCookie(ck)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got []ratingJSON
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if resp.StatusCode != 200 || err != nil {
			t.Fatalf("%s after restart: %d %v", name, resp.StatusCode, err)
		}
		stored := map[string]sentRating{}
		for _, r := range got {
			stored[r.CaseID] = sentRating{likert: r.Likert, comment: r.Comment}
		}
		for id, want := range s.acked {
			have, ok := stored[id]
			if !ok {
				t.Errorf("%s %s: acknowledged rating %v lost", name, id, want)
				continue
			}
			if have != want && have != s.inflight[id] {
				t.Errorf("%s %s: stored %v, want the acknowledged %v (or the in-flight %v)", name, id, have, want, s.inflight[id])
			}
			checked++
		}
	}
	t.Logf("%d ratings acknowledged before SIGKILL; %d (reader, case) ratings checked after restart", acked, checked)
	if checked == 0 {
		t.Fatal("nothing was checked")
	}
}

func listenLocal() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
