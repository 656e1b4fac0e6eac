package ws

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.opentelemetry.io/otel/attribute"

	"github.com/campaign-live/campaign-live/pkg/limit"
	"github.com/campaign-live/campaign-live/services/gateway/internal/fanouttest"
)

// Rates in these tests refill once an hour: nothing comes back while a
// test runs, however slow the machine.
func perHour(n uint64) limit.Rate { return limit.Rate{Tokens: n, Interval: time.Hour} }

// A client that floods the socket gets its burst answered, then a
// rate_limited error per message over it, then close 1008; a watcher of the
// same campaign keeps receiving.
func TestFrameFloodRefusedThenClosed1008(t *testing.T) {
	s := newStack(t, options{cfg: func(c *Config) {
		c.FrameRate, c.FrameBurst = perHour(1), 3
		c.RefusedFrames = perHour(4)
	}})
	s.fan.SetCampaign(1, at(10), dataFrame(1, at(10)))
	flood := s.dial(t, "/ws/campaign/1/", nil)
	other := s.dial(t, "/ws/campaign/1/", nil)
	expect(t, flood, "campaign_data", at(10))
	expect(t, other, "campaign_data", at(10))

	for range 20 {
		if err := flood.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)); err != nil {
			break // closed already
		}
	}
	var got []string
	for range 3 + 4 {
		m := read(t, flood)
		got = append(got, m.Type+":"+m.Code)
	}
	want := []string{"pong:", "pong:", "pong:", "error:rate_limited", "error:rate_limited", "error:rate_limited", "error:rate_limited"}
	if g, w := jsonOf(got), jsonOf(want); g != w {
		t.Fatalf("replies %s, want %s", g, w)
	}
	expectClose(t, flood, websocket.ClosePolicyViolation)

	s.push(t, 1, at(11))
	expect(t, other, "contribution", at(11))
}

// Malformed and unsupported messages count toward the close, each still
// answered with its error; pings do not count.
func TestRefusedMessagesClose1008(t *testing.T) {
	s := newStack(t, options{cfg: func(c *Config) { c.RefusedFrames = perHour(3) }})
	s.fan.SetCampaign(1, at(10), dataFrame(1, at(10)))
	c := s.dial(t, "/ws/campaign/1/", nil)
	expect(t, c, "campaign_data", at(10))
	for i, tt := range []struct{ in, want string }{
		{`not json`, "error:malformed"},
		{`{"type":"ping"}`, "pong:"},
		{`{"type":"broadcast"}`, "error:unsupported_type"},
		{`{"type":"ping"}`, "pong:"},
		{`{}`, "error:malformed"},
	} {
		send(t, c, tt.in)
		if m := read(t, c); m.Type+":"+m.Code != tt.want {
			t.Fatalf("message %d %s: got %s:%s, want %s", i, tt.in, m.Type, m.Code, tt.want)
		}
	}
	send(t, c, `[]`) // the fourth refused message
	expectClose(t, c, websocket.ClosePolicyViolation)
}

// The frame limits off, a client may send as it likes.
func TestFrameLimitsOff(t *testing.T) {
	c := newWatched(t, options{}).watch(t)
	for range 100 {
		send(t, c, `{}`)
		if m := read(t, c); m.Code != "malformed" {
			t.Fatalf("got %+v, want a malformed error", m)
		}
	}
}

// dialStatus dials and returns the handshake's response (closing any socket
// it opened).
func (s *stack) dialStatus(t *testing.T, hdr http.Header) *http.Response {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(s.base+"/ws/campaign/1/", hdr)
	if err == nil {
		t.Cleanup(func() { _ = c.Close() })
	}
	if resp == nil {
		t.Fatalf("dial: %v", err)
	}
	return resp
}

// checkTooMany checks a 429 refusal: Retry-After and problem JSON.
func checkTooMany(t *testing.T, resp *http.Response, wantRetry func(int) bool) {
	t.Helper()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("HTTP %d, want 429", resp.StatusCode)
	}
	retry, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || !wantRetry(retry) {
		t.Errorf("Retry-After %q, not what was expected", resp.Header.Get("Retry-After"))
	}
	body, _ := io.ReadAll(resp.Body)
	var p struct {
		Status int    `json:"status"`
		Title  string `json:"title"`
	}
	if resp.Header.Get("Content-Type") != "application/problem+json" || json.Unmarshal(body, &p) != nil || p.Status != 429 || p.Title == "" {
		t.Errorf("body %s (%s), want 429 problem JSON", body, resp.Header.Get("Content-Type"))
	}
}

// The 61st handshake from one IP in a minute is refused with 429 before
// the upgrade; another IP is not affected.
func TestConnectsPerIPRefused429(t *testing.T) {
	refused0 := metricValue(t, "rate_limit_refusals_total", attribute.String("limit", "ws_connects_ip"))
	s := newStack(t, options{cfg: func(c *Config) { c.ConnectsPerIP = limit.Rate{Tokens: 60, Interval: time.Minute} }})
	s.fan.SetCampaign(1, at(10), dataFrame(1, at(10)))
	for i := range 60 {
		resp := s.dialStatus(t, nil)
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("handshake %d: HTTP %d, want 101", i+1, resp.StatusCode)
		}
	}
	checkTooMany(t, s.dialStatus(t, nil), func(s int) bool { return s >= 1 && s <= 60 })
	if got := metricValue(t, "rate_limit_refusals_total", attribute.String("limit", "ws_connects_ip")) - refused0; got != 1 {
		t.Errorf("ws_connects_ip refusals: %v, want 1", got)
	}
	// Behind our proxy the client is the last X-Forwarded-For hop.
	if resp := s.dialStatus(t, http.Header{"X-Forwarded-For": {"203.0.113.9"}}); resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("another IP: HTTP %d, want 101", resp.StatusCode)
	}
}

// An IP holding its cap of open sockets is refused with 429 until one of
// them closes.
func TestSocketsPerIPRefused429(t *testing.T) {
	refused0 := metricValue(t, "rate_limit_refusals_total", attribute.String("limit", "ws_sockets_ip"))
	s := newStack(t, options{cfg: func(c *Config) { c.SocketsPerIP = 3 }})
	s.fan.SetCampaign(1, at(10), dataFrame(1, at(10)))
	var open []*websocket.Conn
	for range 3 {
		c := s.dial(t, "/ws/campaign/1/", nil)
		expect(t, c, "campaign_data", at(10))
		open = append(open, c)
	}
	checkTooMany(t, s.dialStatus(t, nil), func(s int) bool { return s >= 1 })
	if got := metricValue(t, "rate_limit_refusals_total", attribute.String("limit", "ws_sockets_ip")) - refused0; got != 1 {
		t.Errorf("ws_sockets_ip refusals: %v, want 1", got)
	}
	other := s.dial(t, "/ws/campaign/1/", http.Header{"X-Forwarded-For": {"203.0.113.9"}})
	expect(t, other, "campaign_data", at(10))

	_ = open[0].Close()
	fanouttest.Eventually(t, "the closed socket to be let go", func() bool {
		s.h.mu.Lock()
		defer s.h.mu.Unlock()
		return s.h.perIP["127.0.0.1"] == 2
	})
	again := s.dial(t, "/ws/campaign/1/", nil)
	expect(t, again, "campaign_data", at(10))
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
