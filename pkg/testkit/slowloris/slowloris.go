// Package slowloris is a test's slowloris client: it opens a WebSocket
// handshake and trickles its headers without ever ending them, to prove a
// server cuts such a connection instead of holding it. Standard library
// only, so any module's tests can use it.
package slowloris

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// Handshake dials addr, sends the start of an upgrade request for path,
// then one byte of a header every `every`, never the blank line that ends
// the headers. It returns what the server sent before it closed the
// connection, and fails the test if the server still holds it after guard
// (a hang guard, far past the server's timeout).
func Handshake(t testing.TB, addr, path string, every, guard time.Duration) string {
	t.Helper()
	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := fmt.Fprintf(slow, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n", path, addr); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for _, b := range []byte(strings.Repeat("X-Slow: still coming\r\n", 100)) {
			select {
			case <-stop:
				return
			case <-time.After(every):
			}
			if _, err := slow.Write([]byte{b}); err != nil {
				return
			}
		}
	}()
	_ = slow.SetReadDeadline(time.Now().Add(guard))
	got, err := io.ReadAll(slow)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the trickling handshake was still open after %s (read %q)", guard, got)
	}
	return string(got)
}
