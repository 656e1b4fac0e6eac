package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// watcher is one browser-like client of one campaign: it keeps a socket
// open through a list of gateways, resumes with since=<last cursor> on any
// close, drops duplicates by cursor and records every event in order.
type watcher struct {
	campaign int64
	gateways []string // ws://host:port, tried in turn
	slow     bool     // a slow reader: small receive buffer, pauses
	// written counts the events written to the campaign so far: a slow
	// reader pauses until enough were written to overflow the gateway's
	// queue and buffers, and few enough that history still reaches back.
	written func() int

	mu        sync.Mutex
	last      string            // cursor of the last event or snapshot
	seen      map[string]string // cursor -> "type:id" of every event received
	got       map[string]bool   // "type:id" received
	order     []string          // "type:id" in the order received
	dups      int               // same event, same cursor: dropped by the client
	badDups   int               // same event under another cursor
	reordered int               // a new event below the last cursor
	snapshots int               // campaign_data after the first
	resumes   int
	closes    map[int]int // close codes seen (0: not a close frame)
	first     chan struct{}
	firstOnce sync.Once
	paused    map[int]bool // where a slow reader has paused already
}

func newWatcher(campaign int64, gateways []string, slow bool) *watcher {
	return &watcher{
		campaign: campaign, gateways: gateways, slow: slow,
		seen: map[string]string{}, got: map[string]bool{}, closes: map[int]int{},
		first: make(chan struct{}), paused: map[int]bool{},
	}
}

type message struct {
	Type    string          `json:"type"`
	Cursor  string          `json:"cursor"`
	EventID string          `json:"event_id"`
	Data    json.RawMessage `json:"data"`
}

// run keeps the watcher connected until ctx ends.
func (w *watcher) run(ctx context.Context) {
	dialer := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	if w.slow {
		// A small receive buffer, so the gateway's queue for it fills.
		dialer.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
				var serr error
				err := c.Control(func(fd uintptr) {
					serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
				})
				return errors.Join(err, serr)
			}}
			return d.DialContext(ctx, network, addr)
		}
	}
	g, failures := 0, 0
	for ctx.Err() == nil {
		q := url.Values{}
		w.mu.Lock()
		if w.last != "" {
			q.Set("since", w.last)
		}
		w.mu.Unlock()
		u := fmt.Sprintf("%s/ws/campaign/%d/?%s", w.gateways[g%len(w.gateways)], w.campaign, q.Encode())
		conn, _, err := dialer.DialContext(ctx, u, http.Header{"Origin": {"http://localhost:8080"}})
		if err == nil {
			failures = 0
			code := w.read(ctx, conn)
			w.mu.Lock()
			w.closes[code]++
			w.mu.Unlock()
			if code == websocket.CloseServiceRestart {
				g++ // drained: go to another gateway, as a load balancer would send us
			}
		} else {
			failures++
			g++
		}
		// Jittered backoff, growing while dials fail.
		backoff := min(50*time.Millisecond<<min(failures, 6), 2*time.Second)
		select {
		case <-ctx.Done():
		case <-time.After(backoff/2 + rand.N(backoff/2+1)):
		}
	}
}

// read reads one connection until it closes, returning the close code.
func (w *watcher) read(ctx context.Context, conn *websocket.Conn) int {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	for {
		_ = conn.SetReadDeadline(time.Now().Add(90 * time.Second))
		_, b, err := conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code
			}
			return 0
		}
		var m message
		if err := json.Unmarshal(b, &m); err != nil {
			continue
		}
		w.handle(m)
		if w.slow {
			w.mu.Lock()
			n := len(w.order)
			w.mu.Unlock()
			// Stop reading now and then, as a background tab does, until
			// 300 more events were written: the gateway's queue for this
			// socket and the kernel's buffers fill, and the gateway closes
			// it 1013. Then it reads at full speed again, and resumes.
			if n%500 == 10 && !w.paused[n] {
				w.paused[n] = true
				from, until := w.written(), time.Now().Add(20*time.Second)
				for w.written()-from < 300 && time.Now().Before(until) && ctx.Err() == nil {
					time.Sleep(50 * time.Millisecond)
				}
			}
		}
	}
}

func (w *watcher) handle(m message) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch m.Type {
	case "campaign_data":
		if w.last != "" {
			w.snapshots++ // a resume that was not exact
		}
		w.last = m.Cursor
		w.firstOnce.Do(func() { close(w.first) })
	case "resumed":
		w.resumes++
	case "contribution", "comment", "update", "release", "milestone":
		var d struct {
			ID int64 `json:"id"`
		}
		_ = json.Unmarshal(m.Data, &d)
		key := fmt.Sprintf("%s:%d", m.Type, d.ID)
		if m.Cursor <= w.last {
			switch prev, ok := w.seen[m.Cursor]; {
			case ok && prev == key:
				w.dups++
			case ok:
				w.badDups++
			default:
				w.reordered++
			}
			return
		}
		if w.got[key] {
			w.badDups++ // the same event again, under a later cursor
			return
		}
		w.last = m.Cursor
		w.seen[m.Cursor] = key
		w.got[key] = true
		w.order = append(w.order, key)
	}
}

// has reports how many of keys the watcher has received.
func (w *watcher) has(keys map[string]bool) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for k := range keys {
		if w.got[k] {
			n++
		}
	}
	return n
}
