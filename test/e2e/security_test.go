//go:build e2e

package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/campaign-live/campaign-live/pkg/testkit/slowloris"
)

// dialRaw dials a campaign's socket with the given origin and query,
// returning the connection or the handshake's HTTP status.
func dialRaw(t *testing.T, id int64, origin, query string) (*websocket.Conn, int) {
	t.Helper()
	u, _ := url.Parse(baseURL())
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	u.Path = fmt.Sprintf("/ws/campaign/%d/", id)
	u.RawQuery = query
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	conn, resp, err := websocket.DefaultDialer.Dial(u.String(), h)
	if err != nil {
		if resp != nil {
			return nil, resp.StatusCode
		}
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, 101
}

// closeCode reads until the server closes, returning its close code.
func closeCode(t *testing.T, c *websocket.Conn) int {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				return ce.Code
			}
			t.Fatalf("read: %v, want a close frame", err)
		}
	}
}

// TestSocketRefusals: each refusal is the documented one, and a watcher of
// the same campaign keeps receiving events throughout.
func TestSocketRefusals(t *testing.T) {
	owner := token(t, 7001, "sec")
	c := createCampaign(t, owner, "Security")
	waitLive(t, c.ID)
	bystander := watch(t, c.ID, "")
	if m := bystander.next(); m.Type != "campaign_data" {
		t.Fatalf("bystander: %q", m.Type)
	}

	t.Run("foreign origin is refused with 403", func(t *testing.T) {
		if _, status := dialRaw(t, c.ID, "http://evil.example", ""); status != http.StatusForbidden {
			t.Fatalf("status %d, want 403", status)
		}
	})
	t.Run("non-numeric campaign id is not a socket", func(t *testing.T) {
		u, _ := url.Parse(baseURL())
		u.Scheme = "ws"
		u.Path = "/ws/campaign/1x/"
		if _, resp, err := websocket.DefaultDialer.Dial(u.String(), http.Header{"Origin": {origin}}); err == nil || resp == nil || resp.StatusCode != 404 {
			t.Fatalf("dial /ws/campaign/1x/: %v, want 404", err)
		}
	})
	t.Run("unknown campaign closes 4404", func(t *testing.T) {
		conn, status := dialRaw(t, 999999999, origin, "")
		if status != 101 {
			t.Fatalf("handshake %d", status)
		}
		if code := closeCode(t, conn); code != 4404 {
			t.Fatalf("close %d, want 4404", code)
		}
	})
	t.Run("oversize frame closes 1009", func(t *testing.T) {
		conn, _ := dialRaw(t, c.ID, origin, "")
		_ = conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping","pad":"`+strings.Repeat("x", 64<<10)+`"}`))
		if code := closeCode(t, conn); code != websocket.CloseMessageTooBig {
			t.Fatalf("close %d, want 1009", code)
		}
	})
	t.Run("inbound requests are refused, never broadcast", func(t *testing.T) {
		w := watch(t, c.ID, "")
		w.next() // campaign_data
		// The seed let a client ask for any object to be broadcast.
		w.send(map[string]any{"type": "contribution", "id": 1, "campaign": 1})
		if m := w.next(); m.Type != "error" || m.Code != "unsupported_type" {
			t.Fatalf("got %q %q, want an unsupported_type error", m.Type, m.Code)
		}
		if err := w.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":`)); err != nil {
			t.Fatal(err)
		}
		if m := w.next(); m.Type != "error" || m.Code != "malformed" {
			t.Fatalf("got %q %q, want a malformed error", m.Type, m.Code)
		}
	})

	// The bystander saw none of it, and still receives real events.
	call(t, "POST", fmt.Sprintf("/api/campaigns/%d/comments", c.ID), owner, map[string]any{"content": "still here"}, nil)
	if m := bystander.next(); m.Type != "comment" {
		t.Fatalf("bystander got %q, want the comment (and nothing a client sent)", m.Type)
	}
}

// TestCrossCampaignIsolation: a watcher of one campaign never receives
// another campaign's events.
func TestCrossCampaignIsolation(t *testing.T) {
	owner := token(t, 7002, "iso")
	a := createCampaign(t, owner, "A")
	b := createCampaign(t, owner, "B")
	waitLive(t, a.ID)
	waitLive(t, b.ID)
	wa := watch(t, a.ID, "")
	wa.next()
	for i := range 5 {
		call(t, "POST", fmt.Sprintf("/api/campaigns/%d/comments", b.ID), owner, map[string]any{"content": fmt.Sprint("b", i)}, nil)
	}
	call(t, "POST", fmt.Sprintf("/api/campaigns/%d/comments", a.ID), owner, map[string]any{"content": "a"}, nil)
	m := wa.next()
	var d struct {
		Campaign int64  `json:"campaign"`
		Content  string `json:"content"`
	}
	_ = jsonUnmarshal(m.Data, &d)
	if m.Type != "comment" || d.Campaign != a.ID || d.Content != "a" {
		t.Fatalf("watcher of %d got %s %+v first, want only its own comment", a.ID, m.Type, d)
	}
}

// TestRESTRefusals: CORS only for allowed origins; bodies over the limit are
// 413; tokens that are expired or unsigned are 401.
func TestRESTRefusals(t *testing.T) {
	preflight := func(o string) string {
		req, _ := http.NewRequest("OPTIONS", baseURL()+"/api/campaigns", nil)
		req.Header.Set("Origin", o)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("Access-Control-Allow-Origin")
	}
	if got := preflight(origin); got != origin {
		t.Errorf("preflight from %s: allow-origin %q", origin, got)
	}
	if got := preflight("http://evil.example"); got != "" {
		t.Errorf("preflight from a foreign origin: allow-origin %q, want none", got)
	}
	owner := token(t, 7003, "rest")
	var p struct{ Status int }
	big := map[string]any{"title": "x", "description": strings.Repeat("a", 100<<10), "goal_amount": "1", "currency": "USD"}
	if status := call(t, "POST", "/api/campaigns", owner, big, &p); status != 413 || p.Status != 413 {
		t.Errorf("oversize body: %d, want 413 problem JSON", status)
	}
	unsigned := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIiwidXNlcm5hbWUiOiJ4IiwiZXhwIjo0MTAyNDQ0ODAwfQ."
	for name, tok := range map[string]string{"alg none": unsigned, "expired": expiredToken(t)} {
		if status := call(t, "POST", "/api/campaigns", tok, map[string]any{"title": "x", "goal_amount": "1", "currency": "USD"}, nil); status != 401 {
			t.Errorf("%s token: %d, want 401", name, status)
		}
	}
}

// TestBadTokenClosesWith4401: a browser learns its token was refused from
// the close code, and must not retry.
func TestBadTokenClosesWith4401(t *testing.T) {
	owner := token(t, 7004, "tok")
	c := createCampaign(t, owner, "Tokens")
	waitLive(t, c.ID)
	for name, tok := range map[string]string{"expired": expiredToken(t), "garbage": "not-a-jwt"} {
		conn, status := dialRaw(t, c.ID, origin, "access_token="+tok)
		if status != 101 {
			t.Fatalf("%s: handshake %d", name, status)
		}
		if code := closeCode(t, conn); code != 4401 {
			t.Fatalf("%s token: close %d, want 4401", name, code)
		}
	}
}

// gatewayAddr is the gateway's own listener (not devedge's), for tests of
// its HTTP server itself.
func gatewayAddr() string {
	if a := os.Getenv("E2E_GATEWAY_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:8104"
}

// TestFrameFloodClosed1008: a client that floods its socket with messages
// gets pongs while its burst lasts, then rate_limited errors, then close
// 1008; a watcher of the same campaign keeps receiving.
func TestFrameFloodClosed1008(t *testing.T) {
	owner := token(t, 7005, "flood")
	c := createCampaign(t, owner, "Flood")
	waitLive(t, c.ID)
	bystander := watch(t, c.ID, "")
	bystander.next() // campaign_data
	flood := watch(t, c.ID, "")
	flood.next() // campaign_data

	go func() {
		// Far more than the burst and the refused budget allow; stops when
		// the socket is closed.
		for range 2000 {
			if flood.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)) != nil {
				return
			}
		}
	}()
	counts := map[string]int{}
	_ = flood.conn.SetReadDeadline(time.Now().Add(30 * time.Second)) // a hang guard
	for {
		var m message
		err := flood.conn.ReadJSON(&m)
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			if ce.Code != websocket.ClosePolicyViolation {
				t.Fatalf("closed %d %q, want 1008", ce.Code, ce.Text)
			}
			t.Logf("replies before the close: %v; close %d %q", counts, ce.Code, ce.Text)
			break
		}
		if err != nil {
			t.Fatalf("read: %v (after %v), want replies then close 1008", err, counts)
		}
		if m.Type != "pong" && (m.Type != "error" || m.Code != "rate_limited") {
			t.Fatalf("got %q %q, want only pongs and rate_limited errors", m.Type, m.Code)
		}
		counts[m.Type+":"+m.Code]++
	}
	if counts["pong:"] == 0 || counts["error:rate_limited"] == 0 {
		t.Errorf("replies %v, want pongs, then rate_limited errors", counts)
	}

	call(t, "POST", fmt.Sprintf("/api/campaigns/%d/comments", c.ID), owner, map[string]any{"content": "after the flood"}, nil)
	if m := bystander.next(); m.Type != "comment" {
		t.Fatalf("bystander got %q, want the comment", m.Type)
	}
}

// TestPrivateCampaignClosed4403: only the owner of a private campaign may
// watch it; another signed-in user and an anonymous viewer are closed
// 4403.
func TestPrivateCampaignClosed4403(t *testing.T) {
	owner := token(t, 7006, "hidden")
	var c campaign
	status := call(t, "POST", "/api/campaigns", owner, map[string]any{
		"title": "Private", "description": "made by " + t.Name(), "goal_amount": "10.00", "currency": "USD", "private": true,
	}, &c)
	if status != http.StatusCreated || c.ID == 0 {
		t.Fatalf("create a private campaign: %d %+v", status, c)
	}
	// Only its owner sees it in the live view too.
	deadline := time.Now().Add(30 * time.Second)
	for call(t, "GET", fmt.Sprintf("/api/live/campaigns/%d", c.ID), owner, nil, nil) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("campaign %d never reached the live view", c.ID)
		}
		time.Sleep(50 * time.Millisecond)
	}

	w := watch(t, c.ID, "access_token="+owner)
	if m := w.next(); m.Type != "campaign_data" {
		t.Fatalf("owner got %q, want campaign_data", m.Type)
	}
	for name, query := range map[string]string{
		"another user": "access_token=" + token(t, 7007, "curious"),
		"anonymous":    "",
	} {
		t.Run(name, func(t *testing.T) {
			conn, status := dialRaw(t, c.ID, origin, query)
			if status != 101 {
				t.Fatalf("handshake %d, want 101 then close 4403", status)
			}
			if code := closeCode(t, conn); code != 4403 {
				t.Fatalf("close %d, want 4403", code)
			}
		})
	}
	// The owner's socket is unaffected.
	call(t, "POST", fmt.Sprintf("/api/campaigns/%d/updates", c.ID), owner, map[string]any{"title": "news", "content": "for me"}, nil)
	if m := w.next(); m.Type != "update" {
		t.Fatalf("owner got %q, want the update", m.Type)
	}
}

// TestSlowlorisHandshakeCut: a connection to the gateway that trickles its
// handshake's headers is cut (HANDSHAKE_TIMEOUT), while a watcher on the
// same gateway keeps receiving.
func TestSlowlorisHandshakeCut(t *testing.T) {
	owner := token(t, 7008, "slow")
	c := createCampaign(t, owner, "Slowloris")
	waitLive(t, c.ID)
	w := watch(t, c.ID, "")
	w.next() // campaign_data

	got := slowloris.Handshake(t, gatewayAddr(), fmt.Sprintf("/ws/campaign/%d/", c.ID), 200*time.Millisecond, 90*time.Second)
	if strings.Contains(got, " 101 ") {
		t.Fatalf("the trickling handshake was upgraded: %q", got)
	}

	call(t, "POST", fmt.Sprintf("/api/campaigns/%d/comments", c.ID), owner, map[string]any{"content": "still here"}, nil)
	if m := w.next(); m.Type != "comment" {
		t.Fatalf("watcher got %q, want the comment", m.Type)
	}
}
