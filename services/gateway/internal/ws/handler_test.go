package ws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/services/gateway/internal/fanoutlink"
	"github.com/campaign-live/campaign-live/services/gateway/internal/fanouttest"
	"github.com/campaign-live/campaign-live/services/gateway/internal/hub"
)

const secret = "test-secret"

// stack is a gateway's WebSocket side over a fake fanout instance.
type stack struct {
	fan  *fanouttest.Server
	hub  *hub.Hub
	h    *Handler
	srv  *httptest.Server
	obs  *recorder
	base string // ws://host:port
}

type options struct {
	cfg       func(*Config)
	link      func(*fanoutlink.Options)
	smallBufs bool // shrink the send buffer of the first socket accepted
}

func newStack(t *testing.T, o options) *stack {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	fan := fanouttest.Start(t)
	lopts := fanoutlink.Options{MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}
	if o.link != nil {
		o.link(&lopts)
	}
	link, err := fanoutlink.New([]string{fan.Addr()}, log, lopts)
	if err != nil {
		t.Fatal(err)
	}
	rooms := hub.New(link, log)
	cfg := Config{
		AllowedOrigins: []string{"http://localhost:8080"},
		WriteTimeout:   10 * time.Second,
		PongWait:       time.Minute,
		ReadLimit:      4096,
		SendQueue:      256,
		WriterLinger:   100 * time.Millisecond, // the idle tests wait it out
	}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	v, err := auth.NewHS256([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	obs := &recorder{}
	h, err := NewHandler(cfg, rooms, link, v, log, obs)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	if o.smallBufs {
		srv.Listener = &smallBufListener{Listener: srv.Listener}
	}
	srv.Start()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = link.Run(ctx, rooms)
	}()
	t.Cleanup(func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer dcancel()
		h.Drain(dctx)
		srv.Close()
		h.Close()
		cancel()
		<-done
		_ = link.Close()
	})
	fanouttest.Eventually(t, "the fanout stream", func() bool { return link.Up() == 1 && fan.Streams() == 1 })
	return &stack{fan: fan, hub: rooms, h: h, srv: srv, obs: obs, base: "ws" + strings.TrimPrefix(srv.URL, "http")}
}

// smallBufListener gives the first connection it accepts a small send
// buffer, so that a client that does not read fills it after a few frames.
type smallBufListener struct {
	net.Listener
	once sync.Once
}

func (l *smallBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		l.once.Do(func() { _ = tc.SetWriteBuffer(8 << 10) })
	}
	return c, err
}

type recorder struct {
	mu      sync.Mutex
	closing map[int]int
}

func (r *recorder) Opened(int64) {}
func (r *recorder) Closed(int64) {}
func (r *recorder) Closing(_ int64, code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closing == nil {
		r.closing = make(map[int]int)
	}
	r.closing[code]++
}

func (r *recorder) count(code int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closing[code]
}

func at(offset int64) cursor.Position { return cursor.Position{Epoch: 1, Partition: 3, Offset: offset} }

func dataFrame(id int64, pos cursor.Position) []byte {
	return fmt.Appendf(nil, `{"type":"campaign_data","data":{"id":%d,"owner":{"id":7,"username":"olga"},"private":false},"cursor":%q}`, id, pos)
}

func privateFrame(id, owner int64, pos cursor.Position) []byte {
	return fmt.Appendf(nil, `{"type":"campaign_data","data":{"id":%d,"owner":{"id":%d,"username":"olga"},"private":true},"cursor":%q}`, id, owner, pos)
}

func eventFrame(id int64, pos cursor.Position) []byte {
	return fmt.Appendf(nil, `{"type":"contribution","data":{"id":%d,"campaign":%d},"cursor":%q,"event_id":"e-%d"}`, pos.Offset, id, pos, pos.Offset)
}

type message struct {
	Type    string          `json:"type"`
	Cursor  string          `json:"cursor"`
	EventID string          `json:"event_id"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

func (s *stack) dial(t *testing.T, path string, hdr http.Header) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(s.base+path, hdr)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (HTTP %d)", path, err, status)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func read(t *testing.T, c *websocket.Conn) message {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second)) // a hang guard
	typ, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.TextMessage {
		t.Fatalf("read a frame of type %d, want text", typ)
	}
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("read %q: %v", b, err)
	}
	return m
}

func expect(t *testing.T, c *websocket.Conn, typ string, pos cursor.Position) message {
	t.Helper()
	m := read(t, c)
	if m.Type != typ || m.Cursor != pos.String() {
		t.Fatalf("got %s at %s, want %s at %s", m.Type, m.Cursor, typ, pos)
	}
	return m
}

// expectClose reads until the close frame and checks its code.
func expectClose(t *testing.T, c *websocket.Conn, code int) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, b, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("read %v, want close %d (last frame %q)", err, code, b)
		}
		if ce.Code != code {
			t.Fatalf("closed with %d %q, want %d", ce.Code, ce.Text, code)
		}
		return
	}
}

func send(t *testing.T, c *websocket.Conn, s string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func (s *stack) push(t *testing.T, id int64, pos cursor.Position) {
	t.Helper()
	if n := s.fan.Push(id, pos, eventFrame(id, pos)); n != 1 {
		t.Fatalf("pushed to %d streams, want 1", n)
	}
}

// newWatched is a stack whose fanout holds campaign 1 at position 10.
func newWatched(t *testing.T, o options) *stack {
	s := newStack(t, o)
	s.fan.SetCampaign(1, at(10), dataFrame(1, at(10)))
	return s
}

// watch opens a socket on campaign 1 of a newWatched stack and reads its
// campaign_data.
func (s *stack) watch(t *testing.T) *websocket.Conn {
	t.Helper()
	c := s.dial(t, "/ws/campaign/1/", nil)
	expect(t, c, "campaign_data", at(10))
	return c
}

// answerPings makes c answer the server's pings, as a browser does, and
// signals each one; c must be read for them to arrive.
func answerPings(c *websocket.Conn) <-chan struct{} {
	pings := make(chan struct{}, 16)
	c.SetPingHandler(func(data string) error {
		pings <- struct{}{}
		return c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	return pings
}

// closeByClient closes c with 1000 from the client's side, expects the
// answer, and waits until the socket, its room and its interest are gone.
func (s *stack) closeByClient(t *testing.T, c *websocket.Conn) {
	t.Helper()
	if err := c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")); err != nil {
		t.Fatal(err)
	}
	expectClose(t, c, websocket.CloseNormalClosure)
	fanouttest.Eventually(t, "the socket gone", func() bool { return s.h.Sockets() == 0 && s.hub.Watchers(1) == 0 })
	fanouttest.Eventually(t, "the interest released", func() bool { return s.fan.Interested(1) == 0 })
}

// drain drains the handler, as a SIGTERM does, and checks that each of
// conns is closed 1012 and no socket is left.
func (s *stack) drain(t *testing.T, conns ...*websocket.Conn) {
	t.Helper()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.h.Drain(ctx)
	}()
	for _, c := range conns {
		expectClose(t, c, websocket.CloseServiceRestart)
	}
	<-drained
	if n := s.h.Sockets(); n != 0 {
		t.Errorf("%d sockets open after the drain, want 0", n)
	}
}

func TestSnapshotFirstThenEventsInOrder(t *testing.T) {
	s := newStack(t, options{})
	for _, tt := range []struct {
		path string
		id   int64
	}{{"/ws/campaign/1/", 1}, {"/ws/campaign/2", 2}} {
		t.Run(tt.path, func(t *testing.T) {
			s.fan.SetCampaign(tt.id, at(10), dataFrame(tt.id, at(10)))
			c := s.dial(t, tt.path, nil)
			m := expect(t, c, "campaign_data", at(10))
			if want := fmt.Sprintf(`"id":%d`, tt.id); !strings.Contains(string(m.Data), want) {
				t.Errorf("campaign_data data = %s, want %s", m.Data, want)
			}
			for off := int64(11); off <= 13; off++ {
				s.push(t, tt.id, at(off))
			}
			for off := int64(11); off <= 13; off++ {
				m := expect(t, c, "contribution", at(off))
				if want := fmt.Sprintf("e-%d", off); m.EventID != want {
					t.Errorf("event_id = %q, want %q", m.EventID, want)
				}
			}
		})
	}
}

// A delivery pushed after the Subscribed ack but before the snapshot is
// read may already be in the snapshot: only what is after it is sent.
func TestEventsAtOrBeforeSnapshotAreNotSent(t *testing.T) {
	s := newStack(t, options{})
	s.fan.SetCampaign(1, at(10), dataFrame(1, at(10)))
	s.fan.OnSnapshot(func(id int64) {
		s.push(t, id, at(9))
		s.push(t, id, at(10))
		s.push(t, id, at(11))
	})
	c := s.dial(t, "/ws/campaign/1/", nil)
	expect(t, c, "campaign_data", at(10))
	expect(t, c, "contribution", at(11))
	s.push(t, 1, at(12))
	expect(t, c, "contribution", at(12))
}

// After a rebalance two fanout instances may push the same events.
func TestDuplicatesDropped(t *testing.T) {
	s := newStack(t, options{})
	s.fan.SetCampaign(1, at(10), dataFrame(1, at(10)))
	c := s.dial(t, "/ws/campaign/1/", nil)
	expect(t, c, "campaign_data", at(10))
	for _, off := range []int64{11, 11, 10, 12, 11, 12, 13} {
		s.push(t, 1, at(off))
	}
	for _, off := range []int64{11, 12, 13} {
		expect(t, c, "contribution", at(off))
	}
}

func TestUnknownCampaignCloses4404(t *testing.T) {
	s := newStack(t, options{})
	c := s.dial(t, "/ws/campaign/404/", nil)
	expectClose(t, c, CloseNoSuchCampaign)
	fanouttest.Eventually(t, "the interest released", func() bool { return s.fan.Interested(404) == 0 })
}

func token(t *testing.T, id int64, ttl time.Duration) string {
	t.Helper()
	tok, err := auth.Mint([]byte(secret), auth.User{ID: id, Username: "u"}, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestHandshakeRefusals(t *testing.T) {
	s := newStack(t, options{})
	s.fan.SetCampaign(1, at(10), dataFrame(1, at(10)))
	forged, err := auth.Mint([]byte("another-secret"), auth.User{ID: 7, Username: "u"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	expired := token(t, 7, -time.Hour)
	tests := []struct {
		name string
		path string
		hdr  http.Header
		want int
	}{
		{"foreign origin", "/ws/campaign/1/", http.Header{"Origin": {"http://evil.example"}}, http.StatusForbidden},
		{"null origin", "/ws/campaign/1/", http.Header{"Origin": {"null"}}, http.StatusForbidden},
		{"id not digits", "/ws/campaign/abc/", nil, http.StatusNotFound},
		{"negative id", "/ws/campaign/-1/", nil, http.StatusNotFound},
		{"zero id", "/ws/campaign/0/", nil, http.StatusNotFound},
		{"id too big", "/ws/campaign/99999999999999999999/", nil, http.StatusNotFound},
		{"no id", "/ws/campaign/", nil, http.StatusNotFound},
		{"extra segment", "/ws/campaign/1/x", nil, http.StatusNotFound},
		{"other path", "/ws/other/1/", nil, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, resp, err := websocket.DefaultDialer.Dial(s.base+tt.path, tt.hdr)
			if err == nil {
				_ = c.Close()
				t.Fatalf("dial succeeded, want HTTP %d", tt.want)
			}
			if resp == nil {
				t.Fatalf("dial: %v, want HTTP %d", err, tt.want)
			}
			if resp.StatusCode != tt.want {
				t.Fatalf("HTTP %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
	for name, hdr := range map[string]struct {
		path string
		hdr  http.Header
	}{
		"bad bearer token":        {"/ws/campaign/1/", http.Header{"Authorization": {"Bearer not-a-jwt"}}},
		"forged token in query":   {"/ws/campaign/1/?access_token=" + url.QueryEscape(forged), nil},
		"expired token in cookie": {"/ws/campaign/1/", http.Header{"Cookie": {"access_token=" + expired}}},
	} {
		t.Run(name, func(t *testing.T) {
			c, _, err := websocket.DefaultDialer.Dial(s.base+hdr.path, hdr.hdr)
			if err != nil {
				t.Fatalf("dial: %v, want an upgrade then close 4401", err)
			}
			defer c.Close()
			_, _, err = c.ReadMessage()
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != CloseBadToken {
				t.Fatalf("read: %v, want close 4401", err)
			}
		})
	}
	if got := s.fan.Snapshots(); got != 0 {
		t.Errorf("refused handshakes read %d snapshots, want 0", got)
	}
}

func TestViewersLetIn(t *testing.T) {
	s := newStack(t, options{})
	s.fan.SetCampaign(1, at(10), dataFrame(1, at(10)))
	tok := token(t, 7, time.Hour)
	tests := []struct {
		name string
		path string
		hdr  http.Header
	}{
		{"anonymous, no origin", "/ws/campaign/1/", nil},
		{"anonymous, allowed origin", "/ws/campaign/1/", http.Header{"Origin": {"http://localhost:8080"}}},
		{"token in query", "/ws/campaign/1/?access_token=" + tok, http.Header{"Origin": {"http://localhost:8080"}}},
		{"token in cookie", "/ws/campaign/1/", http.Header{"Cookie": {"access_token=" + tok}}},
		{"bearer token", "/ws/campaign/1/", http.Header{"Authorization": {"Bearer " + tok}}},
		{"resume cursor older than history", "/ws/campaign/1/?since=" + at(5).String(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := s.dial(t, tt.path, tt.hdr)
			expect(t, c, "campaign_data", at(10))
		})
	}
}

func TestPrivateCampaignOnlyForItsOwner(t *testing.T) {
	s := newStack(t, options{})
	s.fan.SetCampaign(2, at(10), privateFrame(2, 7, at(10)))

	owner := s.dial(t, "/ws/campaign/2/?access_token="+token(t, 7, time.Hour), nil)
	expect(t, owner, "campaign_data", at(10))

	other := s.dial(t, "/ws/campaign/2/?access_token="+token(t, 8, time.Hour), nil)
	expectClose(t, other, CloseForbidden)
	anonymous := s.dial(t, "/ws/campaign/2/", nil)
	expectClose(t, anonymous, CloseForbidden)
}

func TestPingPong(t *testing.T) {
	s := newStack(t, options{})
	s.fan.SetCampaign(1, at(10), dataFrame(1, at(10)))
	c := s.dial(t, "/ws/campaign/1/", nil)
	send(t, c, `{"type":"ping"}`) // possibly before the snapshot: still answered after it
	expect(t, c, "campaign_data", at(10))
	if m := read(t, c); m.Type != "pong" {
		t.Fatalf("got %+v, want pong", m)
	}
	send(t, c, `{"type":"ping","extra":[1,2]}`)
	if m := read(t, c); m.Type != "pong" {
		t.Fatalf("got %+v, want pong", m)
	}
}

func TestInboundMessagesAreRefusedNeverBroadcast(t *testing.T) {
	s := newStack(t, options{})
	s.fan.SetCampaign(1, at(10), dataFrame(1, at(10)))
	a := s.dial(t, "/ws/campaign/1/", nil)
	b := s.dial(t, "/ws/campaign/1/", nil)
	expect(t, a, "campaign_data", at(10))
	expect(t, b, "campaign_data", at(10))

	tests := []struct {
		in, code string
	}{
		{`{"type":"contribution","data":{"id":1,"campaign":2}}`, "unsupported_type"},
		{`{"type":"broadcast","model":"comment","id":5}`, "unsupported_type"},
		{`not json`, "malformed"},
		{`{"type":5}`, "malformed"},
		{`{}`, "malformed"},
		{`[1,2]`, "malformed"},
		// Longer than the socket's read buffer, within the read limit.
		{`{"type":"broadcast","pad":"` + strings.Repeat("x", 3000) + `"}`, "unsupported_type"},
	}
	for _, tt := range tests {
		send(t, a, tt.in)
		m := read(t, a)
		if m.Type != "error" || m.Code != tt.code || m.Message == "" {
			t.Errorf("sent %s: got %+v, want an error with code %s", tt.in, m, tt.code)
		}
	}
	// b got none of it: its next frame is the next event.
	s.push(t, 1, at(11))
	expect(t, b, "contribution", at(11))
	expect(t, a, "contribution", at(11))
}

func TestOversizeMessageCloses1009(t *testing.T) {
	s := newStack(t, options{cfg: func(c *Config) { c.ReadLimit = 1024 }})
	s.fan.SetCampaign(1, at(10), dataFrame(1, at(10)))
	c := s.dial(t, "/ws/campaign/1/", nil)
	expect(t, c, "campaign_data", at(10))
	send(t, c, `{"type":"ping","pad":"`+strings.Repeat("x", 2000)+`"}`)
	expectClose(t, c, websocket.CloseMessageTooBig)
}

func TestBinaryMessageCloses1008(t *testing.T) {
	s := newStack(t, options{})
	s.fan.SetCampaign(1, at(10), dataFrame(1, at(10)))
	c := s.dial(t, "/ws/campaign/1/", nil)
	expect(t, c, "campaign_data", at(10))
	if err := c.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	expectClose(t, c, websocket.ClosePolicyViolation)
}

// A client that stops reading is closed with 1013 once its queue is full,
// and a watcher of the same campaign that reads keeps getting everything.
func TestSlowConsumerClosed1013OthersUnaffected(t *testing.T) {
	slow0 := metricValue(t, "gateway_slow_client_closes")
	s := newStack(t, options{
		smallBufs: true,
		cfg: func(c *Config) {
			c.SendQueue = 4
			c.WriteTimeout = time.Minute // the slow client reads again before this
		},
	})
	s.fan.SetCampaign(1, at(10), dataFrame(1, at(10)))
	slowDialer := websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(16 << 10)
		}
		return c, err
	}}
	slow, _, err := slowDialer.Dial(s.base+"/ws/campaign/1/", nil) // first, for the small buffer
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fast := s.dial(t, "/ws/campaign/1/", nil)
	expect(t, slow, "campaign_data", at(10))
	expect(t, fast, "campaign_data", at(10))

	pad := strings.Repeat("x", 16<<10)
	frame := func(off int64) []byte {
		return fmt.Appendf(nil, `{"type":"contribution","data":{"id":%d,"pad":%q},"cursor":%q}`, off, pad, at(off))
	}
	// Push one event at a time and let the fast client read it, so only the
	// slow client can fall behind.
	off := int64(10)
	for s.obs.count(websocket.CloseTryAgainLater) == 0 {
		off++
		if off > 2000 {
			t.Fatal("the slow client was never closed")
		}
		s.fan.Push(1, at(off), frame(off))
		expect(t, fast, "contribution", at(off))
	}
	for range 3 {
		off++
		s.fan.Push(1, at(off), frame(off))
		expect(t, fast, "contribution", at(off))
	}

	// The slow client gets a gapless prefix, then 1013.
	_ = slow.SetReadDeadline(time.Now().Add(10 * time.Second))
	next := int64(11)
	for {
		_, b, err := slow.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			if ce.Code != websocket.CloseTryAgainLater {
				t.Fatalf("slow client closed with %d, want 1013", ce.Code)
			}
			break
		}
		if err != nil {
			t.Fatalf("slow client read: %v", err)
		}
		var m message
		if err := json.Unmarshal(b, &m); err != nil || m.Cursor != at(next).String() {
			t.Fatalf("slow client got cursor %q, want %s", m.Cursor, at(next))
		}
		next++
	}
	if s.obs.count(websocket.CloseTryAgainLater) != 1 {
		t.Errorf("%d sockets closed with 1013, want 1", s.obs.count(websocket.CloseTryAgainLater))
	}
	if got := metricValue(t, "gateway_slow_client_closes") - slow0; got != 1 {
		t.Errorf("gateway_slow_client_closes counted %v, want 1", got)
	}
	off++
	s.fan.Push(1, at(off), frame(off))
	expect(t, fast, "contribution", at(off))

	// It resumes from its last cursor without loss: the rest from history,
	// then resumed, then live.
	again := s.dial(t, fmt.Sprintf("/ws/campaign/1/?since=%s", at(next-1)), nil)
	for o := next; o <= off; o++ {
		expect(t, again, "contribution", at(o))
	}
	expect(t, again, "resumed", at(off))
	off++
	s.fan.Push(1, at(off), frame(off))
	expect(t, again, "contribution", at(off))
}

func TestDrainCloses1012(t *testing.T) {
	s := newStack(t, options{})
	s.fan.SetCampaign(1, at(10), dataFrame(1, at(10)))
	a := s.dial(t, "/ws/campaign/1/", nil)
	b := s.dial(t, "/ws/campaign/1/", nil)
	expect(t, a, "campaign_data", at(10))
	expect(t, b, "campaign_data", at(10))

	s.drain(t, a, b)
	_, resp, err := websocket.DefaultDialer.Dial(s.base+"/ws/campaign/1/", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial while draining: %v, want HTTP 503", err)
	}
	fanouttest.Eventually(t, "the interest released", func() bool { return s.fan.Interested(1) == 0 })
}

// A stream that broke may have carried events the socket never got: when
// it is back, the interest is sent again and the socket catches up from
// history, or gets a fresh campaign_data when history does not reach back,
// then the events after it.
func TestFanoutStreamRestored(t *testing.T) {
	s := newStack(t, options{})
	s.fan.SetCampaign(1, at(10), dataFrame(1, at(10)))
	c := s.dial(t, "/ws/campaign/1/", nil)
	expect(t, c, "campaign_data", at(10))
	s.push(t, 1, at(11))
	expect(t, c, "contribution", at(11))

	before := len(s.fan.Subscribes())
	// Events 12 and 13 happen while the stream is down, and history was
	// pruned past them.
	s.fan.SetCampaign(1, at(13), dataFrame(1, at(13)))
	s.fan.Drop()
	fanouttest.Eventually(t, "the interest sent again", func() bool { return s.fan.Interested(1) == 1 })
	subs := s.fan.Subscribes()
	if len(subs) != before+1 || len(subs[before].GetCampaignIds()) != 1 || subs[before].GetCampaignIds()[0] != 1 {
		t.Fatalf("subscribes after reconnect = %v, want one for [1]", subs[before:])
	}

	expect(t, c, "campaign_data", at(13))
	s.push(t, 1, at(13)) // in the snapshot already
	s.push(t, 1, at(14))
	expect(t, c, "contribution", at(14))
}

func TestSubscribeNotAcknowledgedCloses1013(t *testing.T) {
	s := newStack(t, options{link: func(o *fanoutlink.Options) { o.SubscribeTimeout = 50 * time.Millisecond }})
	s.fan.SetCampaign(1, at(10), dataFrame(1, at(10)))
	s.fan.HoldAcks(true)
	c := s.dial(t, "/ws/campaign/1/", nil)
	expectClose(t, c, websocket.CloseTryAgainLater)
	if n := s.fan.Snapshots(); n != 0 {
		t.Errorf("read %d snapshots before the interest was in force, want 0", n)
	}
}

func TestSnapshotUnavailableCloses1013(t *testing.T) {
	s := newStack(t, options{})
	s.fan.Refuse(true)
	c := s.dial(t, "/ws/campaign/1/", nil)
	expectClose(t, c, websocket.CloseTryAgainLater)
}

// The client's own close is answered and the socket's interest released.
func TestClientCloseReleasesInterest(t *testing.T) {
	s := newWatched(t, options{})
	s.closeByClient(t, s.watch(t))
}

// The server pings every 9/10 of the pong wait: a client that answers (by
// reading) stays, one that never answers is dropped.
func TestKeepalive(t *testing.T) {
	s := newWatched(t, options{cfg: func(c *Config) { c.PongWait = 500 * time.Millisecond }})

	live := s.dial(t, "/ws/campaign/1/", nil)
	pings := answerPings(live)
	expect(t, live, "campaign_data", at(10))
	go func() {
		for {
			if _, _, err := live.NextReader(); err != nil {
				return
			}
		}
	}()
	for range 2 {
		<-pings
	}

	silent := s.dial(t, "/ws/campaign/1/", nil)
	expect(t, silent, "campaign_data", at(10))
	// silent reads no more, so it never answers a ping.
	fanouttest.Eventually(t, "the silent client dropped", func() bool { return s.h.Sockets() == 1 })
	if got := s.obs.count(0); got != 1 {
		t.Errorf("%d sockets went away, want the silent one", got)
	}
}

func TestFanoutStreamRestoredCatchesUpFromHistory(t *testing.T) {
	s := newStack(t, options{})
	s.fan.SetCampaign(1, at(10), dataFrame(1, at(10)))
	c := s.dial(t, "/ws/campaign/1/", nil)
	expect(t, c, "campaign_data", at(10))
	s.push(t, 1, at(11))
	expect(t, c, "contribution", at(11))

	// Events 12 and 13 are committed while the stream is down.
	s.fan.Drop()
	s.fan.Record(1, at(12), eventFrame(1, at(12)))
	s.fan.Record(1, at(13), eventFrame(1, at(13)))
	fanouttest.Eventually(t, "the interest sent again", func() bool { return s.fan.Interested(1) == 1 })
	expect(t, c, "contribution", at(12))
	expect(t, c, "contribution", at(13))
	s.push(t, 1, at(13)) // replayed already
	s.push(t, 1, at(14))
	expect(t, c, "contribution", at(14))
}

// TestResumeReplaysMissedThenLive: since= gets exactly the events after
// the cursor, then resumed, then live events; an event committed while the
// socket joins arrives once, from history, and not again live.
func TestResumeReplaysMissedThenLive(t *testing.T) {
	s := newStack(t, options{})
	s.fan.SetCampaign(1, at(10), dataFrame(1, at(10)))
	for o := int64(11); o <= 13; o++ {
		s.fan.Record(1, at(o), eventFrame(1, at(o)))
	}
	var once sync.Once
	s.fan.OnHistory(func(int64) {
		// Committed after the interest is in force, before history is read:
		// both history and the live stream carry it.
		once.Do(func() { s.fan.Push(1, at(14), eventFrame(1, at(14))) })
	})
	c := s.dial(t, "/ws/campaign/1/?since="+at(11).String(), nil)
	for o := int64(12); o <= 14; o++ {
		m := expect(t, c, "contribution", at(o))
		if m.EventID != fmt.Sprintf("e-%d", o) {
			t.Fatalf("event id %q, want e-%d", m.EventID, o)
		}
	}
	expect(t, c, "resumed", at(14))
	s.push(t, 1, at(15))
	expect(t, c, "contribution", at(15))
	if n := s.fan.Snapshots(); n != 0 {
		t.Errorf("read %d snapshots for an exact resume, want 0", n)
	}
}

func TestResumeUpToDate(t *testing.T) {
	s := newStack(t, options{})
	s.fan.SetCampaign(1, at(10), dataFrame(1, at(10)))
	c := s.dial(t, "/ws/campaign/1/?since="+at(10).String(), nil)
	expect(t, c, "resumed", at(10))
	s.push(t, 1, at(11))
	expect(t, c, "contribution", at(11))
}

func TestResumeThatCannotBeExactGetsASnapshot(t *testing.T) {
	s := newStack(t, options{})
	for i, since := range []string{
		at(9).String(),  // before history
		at(12).String(), // beyond the view
		cursor.Position{Epoch: 2, Partition: 3, Offset: 11}.String(), // another epoch
		"not-a-cursor",
		"",
	} {
		t.Run(since, func(t *testing.T) {
			// A campaign per case: a room that dispatched an event once
			// rightly drops it if it comes again.
			id := int64(10 + i)
			s.fan.SetCampaign(id, at(10), dataFrame(id, at(10)))
			c := s.dial(t, fmt.Sprintf("/ws/campaign/%d/?since=%s", id, since), nil)
			expect(t, c, "campaign_data", at(10))
			s.push(t, id, at(11))
			expect(t, c, "contribution", at(11))
		})
	}
}

func TestResumeOfAPrivateCampaign(t *testing.T) {
	s := newStack(t, options{})
	s.fan.SetCampaign(2, at(10), privateFrame(2, 7, at(10)))
	s.fan.Record(2, at(11), eventFrame(2, at(11)))
	since := "?since=" + at(10).String()
	owner := s.dial(t, "/ws/campaign/2/"+since+"&access_token="+token(t, 7, time.Hour), nil)
	expect(t, owner, "contribution", at(11))
	expect(t, owner, "resumed", at(11))
	other := s.dial(t, "/ws/campaign/2/"+since+"&access_token="+token(t, 8, time.Hour), nil)
	expectClose(t, other, CloseForbidden)
}
