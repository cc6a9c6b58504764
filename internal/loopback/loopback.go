// Package loopback finds a free TCP port on the loopback interface for
// the test servers (PostgreSQL, Orthanc) that internal/pgtest and
// internal/orthanctest start.
package loopback

import (
	"net"
	"testing"
)

// FreePort asks the kernel for a free loopback port.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
