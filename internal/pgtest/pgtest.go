// Package pgtest starts a throwaway PostgreSQL server for tests: Debian's
// postgresql binaries, a new data folder in a temporary directory, trust
// authentication, listening on 127.0.0.1 only, stopped and removed when the
// test ends.
//
// PostgreSQL refuses to run as root, and CI runs tests as root, so under
// root the server runs as the unprivileged user "nobody" (via runuser) in a
// folder that user owns.
package pgtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/otoseg/otoseg/internal/loopback"
)

// BinDir finds Debian's PostgreSQL server binaries (package postgresql,
// which .ci/run installs): /usr/lib/postgresql/<version>/bin, the newest
// version when several are installed.
func BinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	best, bestVersion := "/usr/lib/postgresql/15/bin", -1
	for _, d := range dirs {
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if err == nil && v > bestVersion {
			best, bestVersion = d, v
		}
	}
	return best
}

// Start starts a server and returns its URL (database "postgres", user
// "postgres", no password). The test fails if the server cannot start.
func Start(t testing.TB) string {
	t.Helper()
	bin := BinDir()
	if _, err := os.Stat(filepath.Join(bin, "initdb")); err != nil {
		t.Fatalf("PostgreSQL server binaries not found in %s (install Debian's postgresql): %v", bin, err)
	}
	root, err := os.MkdirTemp("", "otoseg-pg-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	run := func(args ...string) *exec.Cmd { return exec.Command(args[0], args[1:]...) }
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			t.Fatalf("running as root, and no user nobody to run PostgreSQL as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(root, uid, gid); err != nil {
			t.Fatal(err)
		}
		run = func(args ...string) *exec.Cmd {
			return exec.Command("runuser", append([]string{"-u", "nobody", "--"}, args...)...)
		}
	}
	data := filepath.Join(root, "data")
	port := loopback.FreePort(t)
	if out, err := output(run(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100", port, root)
	logFile := filepath.Join(root, "server.log")
	if out, err := output(run(filepath.Join(bin, "pg_ctl"), "-D", data, "-o", opts, "-l", logFile, "-w", "-t", "60", "start")); err != nil {
		log, _ := os.ReadFile(logFile)
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	t.Cleanup(func() {
		if out, err := output(run(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop")); err != nil {
			t.Errorf("pg_ctl stop: %v\n%s", err, out)
		}
	})
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
}

func output(cmd *exec.Cmd) ([]byte, error) {
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	cmd.Dir = os.TempDir() // a folder nobody can enter
	err := cmd.Run()
	return b.Bytes(), err
}
