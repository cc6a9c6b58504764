// Package orthanctest starts a throwaway Orthanc PACS for tests: Debian's
// orthanc with its DICOMweb plugin (orthanc-dicomweb), its own JSON
// configuration and storage in a temporary folder, HTTP on a free port with
// remote access refused (Orthanc 1.10 has no bind-address setting; with
// RemoteAccessAllowed false it answers loopback clients only), its DICOM
// port off, basic authentication on, stopped when the test ends. The
// system's Orthanc service is never touched.
package orthanctest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otoseg/otoseg/internal/loopback"
)

// Binary and Plugin are Debian's Orthanc and its DICOMweb plugin.
var (
	Binary = "/usr/sbin/Orthanc"
	Plugin = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
)

// Server is a running Orthanc.
type Server struct {
	// URL is the REST root (http://127.0.0.1:PORT); DICOMweb is
	// URL + "/dicom-web".
	URL            string
	User, Password string
}

// DICOMweb is the server's DICOMweb root.
func (s *Server) DICOMweb() string { return s.URL + "/dicom-web" }

// Start starts Orthanc with one user and waits until it answers.
func Start(t testing.TB, user, password string) *Server {
	t.Helper()
	for _, p := range []string{Binary, Plugin} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s not found (install Debian's orthanc and orthanc-dicomweb): %v", p, err)
		}
	}
	dir := t.TempDir()
	port := loopback.FreePort(t)
	cfg := map[string]any{
		"Name":                  "otoseg-test",
		"StorageDirectory":      filepath.Join(dir, "storage"),
		"IndexDirectory":        filepath.Join(dir, "storage"),
		"HttpPort":              port,
		"DicomServerEnabled":    false,
		"RemoteAccessAllowed":   false,
		"AuthenticationEnabled": true,
		"RegisteredUsers":       map[string]string{user: password},
		"Plugins":               []string{Plugin},
		"DicomWeb":              map[string]any{"Enable": true, "Root": "/dicom-web/"},
		"ConcurrentJobs":        1,
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	cfgPath := filepath.Join(dir, "orthanc.json")
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "orthanc.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(Binary, cfgPath)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting Orthanc: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		logFile.Close()
	})
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), User: user, Password: password}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			log, _ := os.ReadFile(logFile.Name())
			t.Fatalf("Orthanc exited at start:\n%s", log)
		default:
		}
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/system", nil)
		req.SetBasicAuth(user, password)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	log, _ := os.ReadFile(logFile.Name())
	t.Fatalf("Orthanc did not answer in 60 s:\n%s", strings.TrimSpace(string(log)))
	return nil
}

// Get fetches a REST path as JSON into v.
func (s *Server) Get(t testing.TB, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	req.SetBasicAuth(s.User, s.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}
