package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// watcher is one socket watching one campaign. Its counters and bitset
// belong to its reading goroutine until that goroutine has returned.
type watcher struct {
	st       *state
	idx      int
	campIdx  int32
	campaign int64
	dialer   *websocket.Dialer

	mu      sync.Mutex // guards conn against close from stopAll
	conn    *websocket.Conn
	stopped bool

	got        []uint64 // by local index: receipts of this campaign's writes
	lastCursor []byte
	buf        []byte

	unique, dups, reordered, leaks, foreign, mismatches, errorsRecv int64
	inWindow                                                        int64
	resets, resumes, reconnects                                     int
	closeCodes                                                      map[int]int
	lastErr                                                         string
	lastRecvNs                                                      int64
}

func newWatcher(st *state, idx int, campIdx int32, d *websocket.Dialer) *watcher {
	return &watcher{st: st, idx: idx, campIdx: campIdx, campaign: st.campaignIDs[campIdx], dialer: d,
		buf: make([]byte, 0, 1024), lastCursor: make([]byte, 0, 32)}
}

// dialer returns a WebSocket dialer whose sockets come from source address
// 127.0.0.(1+i%n) when n > 1, with small buffers.
func newDialer(i, n int) *websocket.Dialer {
	nd := &net.Dialer{Timeout: 10 * time.Second}
	if n > 1 {
		nd.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%n))}
	}
	return &websocket.Dialer{
		NetDialContext:   nd.DialContext,
		HandshakeTimeout: 15 * time.Second,
		ReadBufferSize:   2048,
		WriteBufferSize:  512,
		Proxy:            nil,
	}
}

// closeError is a socket closed by the server with a code.
type closeError struct{ code int }

func (e closeError) Error() string { return fmt.Sprintf("closed with %d", e.code) }

// connect opens the socket (resuming after the last cursor when there is
// one) and reads until the first campaign_data or resumed, within timeout.
func (w *watcher) connect(ctx context.Context, timeout time.Duration) error {
	u := fmt.Sprintf("%s/ws/campaign/%d/", w.st.cfg.WSURL, w.campaign)
	if len(w.lastCursor) > 0 {
		u += "?since=" + string(w.lastCursor)
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, resp, err := w.dialer.DialContext(dctx, u, http.Header{})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		if resp != nil {
			return fmt.Errorf("handshake: HTTP %d", resp.StatusCode)
		}
		return err
	}
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		_ = c.Close()
		return errAborted
	}
	w.conn = c
	w.mu.Unlock()
	deadline, _ := dctx.Deadline()
	_ = c.SetReadDeadline(deadline)
	for {
		typ, err := w.readOne()
		if err != nil {
			return err
		}
		if typ == msgSnapshot || typ == msgResumed {
			break
		}
	}
	_ = c.SetReadDeadline(time.Time{})
	return nil
}

type msgKind int

const (
	msgOther msgKind = iota
	msgEvent
	msgSnapshot
	msgResumed
)

// readOne reads and handles one message.
func (w *watcher) readOne() (msgKind, error) {
	typ, r, err := w.conn.NextReader()
	if err != nil {
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			if w.closeCodes == nil {
				w.closeCodes = map[int]int{}
			}
			w.closeCodes[ce.Code]++
			return msgOther, closeError{ce.Code}
		}
		return msgOther, err
	}
	if typ != websocket.TextMessage {
		return msgOther, nil
	}
	b := w.buf[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return msgOther, err
		}
	}
	if cap(b) <= 64<<10 {
		w.buf = b // keep a grown buffer, unless a huge snapshot grew it
	}
	return w.handle(b, w.st.now()), nil
}

// handle accounts one message received at ns.
func (w *watcher) handle(b []byte, ns int64) msgKind {
	var f frame
	if err := parseFrame(b, &f); err != nil {
		w.errorsRecv++
		return msgOther
	}
	switch {
	case bytes.Equal(f.typ, typeContribution):
		w.event(&f, ns)
		return msgEvent
	case bytes.Equal(f.typ, typeCampaignData):
		w.snapshot(b)
		return msgSnapshot
	case bytes.Equal(f.typ, typeResumed):
		w.resumes++
		w.lastCursor = append(w.lastCursor[:0], f.cursor...)
		return msgResumed
	case bytes.Equal(f.typ, typeError):
		w.errorsRecv++
	}
	return msgOther
}

func (w *watcher) event(f *frame, ns int64) {
	st := w.st
	if f.campaign != w.campaign {
		w.leaks++ // another campaign's event on this socket
		return
	}
	seq := f.amount
	if seq <= 0 || seq > st.maxSeq || st.camp[seq].Load() != w.campIdx+1 {
		w.foreign++ // not one of this run's writes to this campaign
		return
	}
	li := int(st.local[seq].Load())
	word, bit := li/64, uint64(1)<<(li%64)
	for word >= len(w.got) {
		w.got = append(w.got, 0)
	}
	if w.got[word]&bit != 0 {
		w.dups++
		return
	}
	if len(w.lastCursor) > 0 && bytes.Compare(f.cursor, w.lastCursor) <= 0 {
		w.reordered++ // a new event behind one already shown
	} else {
		w.lastCursor = append(w.lastCursor[:0], f.cursor...)
	}
	w.got[word] |= bit
	w.unique++
	w.lastRecvNs = ns
	if id := st.ids[seq].Load(); id != 0 && id != f.id {
		w.mismatches++
	}
	if start := st.startNs[seq].Load(); st.inWindow(start) {
		st.lat.record(w.idx, time.Duration(ns-start))
		w.inWindow++
	}
	st.received(seq)
}

// snapshot takes a campaign_data: the first one on connect, or a fresh one
// mid-stream (resume was not exact). The contributions it lists count as
// received (the contract lets a client rebuild from it); older ones that
// it no longer lists are lost to this watcher.
func (w *watcher) snapshot(b []byte) {
	id, cur, recent, err := parseSnapshot(b)
	if err != nil || id != w.campaign {
		w.errorsRecv++
		return
	}
	if len(w.lastCursor) > 0 {
		w.resets++
	}
	w.lastCursor = append(w.lastCursor[:0], cur...)
	for _, c := range recent {
		seq, ok := parseCents(append([]byte(c.Amount), '"'))
		if !ok || seq <= 0 || seq > w.st.maxSeq || w.st.camp[seq].Load() != w.campIdx+1 {
			continue
		}
		li := int(w.st.local[seq].Load())
		word, bit := li/64, uint64(1)<<(li%64)
		for word >= len(w.got) {
			w.got = append(w.got, 0)
		}
		if w.got[word]&bit == 0 {
			w.got[word] |= bit
			w.unique++
			w.st.received(seq)
		}
	}
}

// has reports whether the watcher received the write with local index li.
func (w *watcher) has(li int32) bool {
	word := int(li) / 64
	return word < len(w.got) && w.got[word]&(uint64(1)<<(li%64)) != 0
}

// readLoop reads until stopped. A socket the server closes is opened again
// with since=CURSOR, as the browser client does, at most maxReconnects
// times; stopping is the only clean way out.
func (w *watcher) readLoop(ctx context.Context, reconnects *atomic.Int64) {
	const maxReconnects = 20
	for {
		for {
			if _, err := w.readOne(); err != nil {
				w.lastErr = err.Error()
				break
			}
		}
		if w.isStopped() || ctx.Err() != nil || !w.st.cfg.Resume || w.reconnects >= maxReconnects {
			return
		}
		w.closeConn()
		for w.reconnects < maxReconnects {
			w.reconnects++
			reconnects.Add(1)
			// Jitter, as the browser client does, so a restart is no stampede.
			t := time.NewTimer(time.Duration(50+rand.IntN(200)) * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			if w.isStopped() {
				return
			}
			if err := w.connect(ctx, 15*time.Second); err == nil {
				break
			} else {
				w.lastErr = "reconnect: " + err.Error()
				w.closeConn()
			}
		}
		if w.conn == nil {
			return
		}
	}
}

func (w *watcher) isStopped() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stopped
}

func (w *watcher) closeConn() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn != nil {
		_ = w.conn.Close()
		w.conn = nil
	}
}

// stop closes the socket politely (a close frame, then the connection) and
// makes readLoop return.
func (w *watcher) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	if w.conn != nil {
		_ = w.conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = w.conn.Close()
	}
}
