package ws

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// countingConn records each Write it is given.
type countingConn struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func TestCorkSendsABatchWithOneWrite(t *testing.T) {
	under := &countingConn{}
	c := &corkConn{Conn: under}

	_, _ = c.Write([]byte("a"))
	c.cork()
	_, _ = c.Write([]byte("b"))
	_, _ = c.Write([]byte("c"))
	if len(under.writes) != 1 {
		t.Fatalf("writes reached the connection while corked: %q", under.writes)
	}
	if n := c.corkedBytes(); n != 2 {
		t.Errorf("corkedBytes = %d, want 2", n)
	}
	if err := c.uncork(); err != nil {
		t.Fatal(err)
	}
	_, _ = c.Write([]byte("d"))
	want := []string{"a", "bc", "d"}
	if got := fmt.Sprintf("%q", under.writes); got != fmt.Sprintf("%q", want) {
		t.Errorf("writes = %s, want %q", got, want)
	}
	if err := c.uncork(); err != nil || len(under.writes) != 3 {
		t.Errorf("uncork without cork wrote or failed: %v, %q", err, under.writes)
	}
}

// TestCorkedFramesReachTheClient: frames written through the library while
// corked arrive whole and in order, and a control frame written from
// another goroutine meanwhile is not torn into the batch.
func TestCorkedFramesReachTheClient(t *testing.T) {
	upgrader := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	done := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &corkingWriter{ResponseWriter: w}
		ws, err := upgrader.Upgrade(cw, r, nil)
		if err != nil {
			done <- err
			return
		}
		defer ws.Close()
		cw.conn.cork()
		var wg sync.WaitGroup
		wg.Go(func() { _ = ws.WriteControl(websocket.PingMessage, []byte("p"), time.Now().Add(time.Second)) })
		for i := range 50 {
			pm, _ := websocket.NewPreparedMessage(websocket.TextMessage, []byte(fmt.Sprintf(`{"n":%d}`, i)))
			if err := ws.WritePreparedMessage(pm); err != nil {
				done <- err
				return
			}
		}
		wg.Wait()
		done <- cw.conn.uncork()
		// The ping may be the batch's last frame: a message after it makes
		// the client read past it.
		_ = ws.WriteMessage(websocket.TextMessage, []byte("end"))
		_, _, _ = ws.ReadMessage() // until the client closes
	}))
	defer srv.Close()

	pinged := make(chan struct{}, 1)
	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	client.SetPingHandler(func(string) error { pinged <- struct{}{}; return nil })
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i := range 50 {
		_, msg, err := client.ReadMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if want := fmt.Sprintf(`{"n":%d}`, i); string(msg) != want {
			t.Fatalf("message %d = %s, want %s", i, msg, want)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("server: %v", err)
	}
	if _, msg, err := client.ReadMessage(); err != nil || string(msg) != "end" {
		t.Fatalf("last message = %q, %v; want end", msg, err)
	}
	select {
	case <-pinged:
	default:
		t.Error("the ping written while corked never arrived")
	}
}
