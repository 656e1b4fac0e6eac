//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/campaign-live/campaign-live/pkg/auth"
)

func baseURL() string {
	if u := os.Getenv("E2E_BASE_URL"); u != "" {
		return strings.TrimRight(u, "/")
	}
	return "http://127.0.0.1:8080"
}

// origin is the browser origin the system allows by default.
const origin = "http://localhost:8080"

func token(t *testing.T, id int64, username string) string {
	t.Helper()
	secret := os.Getenv("AUTH_JWT_SECRET")
	if secret == "" {
		secret = "local-dev-secret"
	}
	tok, err := auth.Mint([]byte(secret), auth.User{ID: id, Username: username}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// call sends a JSON request and decodes the JSON answer into out (if not
// nil), returning the status.
func call(t *testing.T, method, path, tok string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, baseURL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}

type campaign struct {
	ID         int64  `json:"id"`
	Title      string `json:"title"`
	GoalAmount string `json:"goal_amount"`
	Currency   string `json:"currency"`
	Owner      user   `json:"owner"`
}

type user struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

func createCampaign(t *testing.T, tok, title string) campaign {
	t.Helper()
	var c campaign
	status := call(t, "POST", "/api/campaigns", tok,
		map[string]any{"title": title, "description": "made by " + t.Name(), "goal_amount": "1000.00", "currency": "USD"}, &c)
	if status != http.StatusCreated || c.ID == 0 {
		t.Fatalf("create campaign: status %d, %+v", status, c)
	}
	return c
}

// waitLive waits until the live view knows the campaign: its event has gone
// through the outbox, Kafka and fanout.
func waitLive(t *testing.T, id int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if call(t, "GET", fmt.Sprintf("/api/live/campaigns/%d", id), "", nil, nil) == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign %d never reached the live view", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// message is any server-to-client WebSocket message.
type message struct {
	Type    string          `json:"type"`
	Data    json.RawMessage `json:"data"`
	Cursor  string          `json:"cursor"`
	EventID string          `json:"event_id"`
	Code    string          `json:"code"`
}

type watcher struct {
	t    *testing.T
	conn *websocket.Conn
}

func watch(t *testing.T, id int64, query string) *watcher {
	t.Helper()
	u, _ := url.Parse(baseURL())
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	u.Path = fmt.Sprintf("/ws/campaign/%d/", id)
	u.RawQuery = query
	conn, resp, err := websocket.DefaultDialer.Dial(u.String(), http.Header{"Origin": {origin}})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", u.Path, err, status)
	}
	t.Cleanup(func() { conn.Close() })
	return &watcher{t: t, conn: conn}
}

// next reads the next message, failing the test if none comes in 15 s.
func (w *watcher) next() message {
	w.t.Helper()
	_ = w.conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	var m message
	if err := w.conn.ReadJSON(&m); err != nil {
		w.t.Fatalf("read message: %v", err)
	}
	return m
}

func (w *watcher) send(v any) {
	w.t.Helper()
	if err := w.conn.WriteJSON(v); err != nil {
		w.t.Fatalf("write: %v", err)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// expiredToken is a token that expired a minute ago.
func expiredToken(t *testing.T) string {
	t.Helper()
	secret := os.Getenv("AUTH_JWT_SECRET")
	if secret == "" {
		secret = "local-dev-secret"
	}
	tok, err := auth.Mint([]byte(secret), auth.User{ID: 1, Username: "old"}, -time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
