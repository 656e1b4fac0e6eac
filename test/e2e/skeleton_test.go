//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"testing"
	"time"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestContributionReachesWatcher is the walking skeleton: a contribution
// posted over REST travels through Postgres, the outbox, Kafka and fanout,
// and reaches a watching socket exactly once, in the seed's shape.
func TestContributionReachesWatcher(t *testing.T) {
	owner := token(t, 1001, "ada")
	backer := token(t, 2002, "grace")
	c := createCampaign(t, owner, "Skeleton campaign")
	waitLive(t, c.ID)

	w := watch(t, c.ID, "")
	first := w.next()
	if first.Type != "campaign_data" || first.Cursor == "" {
		t.Fatalf("first message: type %q cursor %q, want campaign_data with a cursor", first.Type, first.Cursor)
	}
	var view struct {
		ID                int64  `json:"id"`
		Title             string `json:"title"`
		RaisedAmount      string `json:"raised_amount"`
		ContributionCount int64  `json:"contribution_count"`
		Owner             user   `json:"owner"`
	}
	if err := json.Unmarshal(first.Data, &view); err != nil {
		t.Fatal(err)
	}
	if view.ID != c.ID || view.Title != "Skeleton campaign" || view.RaisedAmount != "0.00" ||
		view.ContributionCount != 0 || view.Owner != (user{1001, "ada"}) {
		t.Fatalf("campaign_data = %+v", view)
	}

	start := time.Now()
	var posted map[string]any
	if status := call(t, "POST", fmt.Sprintf("/api/campaigns/%d/contributions", c.ID), backer,
		map[string]any{"amount": "25.50", "currency": "USD"}, &posted); status != http.StatusCreated {
		t.Fatalf("post contribution: status %d %v", status, posted)
	}
	m := w.next()
	t.Logf("POST to socket: %v", time.Since(start))
	if m.Type != "contribution" {
		t.Fatalf("message type %q, want contribution", m.Type)
	}
	if !(m.Cursor > first.Cursor) {
		t.Errorf("cursor %q does not come after the snapshot's %q", m.Cursor, first.Cursor)
	}
	if !uuidRE.MatchString(m.EventID) {
		t.Errorf("event_id %q is not a UUIDv7", m.EventID)
	}
	var data map[string]any
	if err := json.Unmarshal(m.Data, &data); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"id": posted["id"], "campaign": float64(c.ID), "user": map[string]any{"id": 2002.0, "username": "grace"},
		"amount": "25.50", "currency": "USD", "created_at": posted["created_at"],
	}
	if got, wantJSON := mustJSON(data), mustJSON(want); got != wantJSON {
		t.Fatalf("contribution data\n got %s\nwant %s", got, wantJSON)
	}

	// Nothing else is queued for this socket: the next answer is our pong.
	w.send(map[string]string{"type": "ping"})
	if m := w.next(); m.Type != "pong" {
		t.Fatalf("after the contribution: %q message, want only the pong", m.Type)
	}

	// The live view counts it.
	var live struct {
		Type string `json:"type"`
		Data struct {
			RaisedAmount      string `json:"raised_amount"`
			ContributionCount int64  `json:"contribution_count"`
		} `json:"data"`
		Cursor string `json:"cursor"`
	}
	if call(t, "GET", fmt.Sprintf("/api/live/campaigns/%d", c.ID), "", nil, &live) != http.StatusOK ||
		live.Data.RaisedAmount != "25.50" || live.Data.ContributionCount != 1 || live.Cursor != m.Cursor {
		t.Fatalf("live view after the contribution = %+v, want 25.50 raised by 1 at cursor %s", live, m.Cursor)
	}
}

// TestWritesRefuseBadInput checks that REST refusals are problem JSON.
func TestWritesRefuseBadInput(t *testing.T) {
	tok := token(t, 3003, "eve")
	c := createCampaign(t, tok, "Refusals")
	path := fmt.Sprintf("/api/campaigns/%d/contributions", c.ID)
	tests := []struct {
		name   string
		tok    string
		body   any
		status int
		field  string
	}{
		{"no token", "", map[string]any{"amount": "1.00", "currency": "USD"}, 401, ""},
		{"bad token", "not-a-jwt", map[string]any{"amount": "1.00", "currency": "USD"}, 401, ""},
		{"amount as number", tok, map[string]any{"amount": 1.5, "currency": "USD"}, 400, "amount"},
		{"three decimals", tok, map[string]any{"amount": "1.005", "currency": "USD"}, 400, "amount"},
		{"zero", tok, map[string]any{"amount": "0", "currency": "USD"}, 400, "amount"},
		{"unknown field", tok, map[string]any{"amount": "1.00", "currency": "USD", "user": 1}, 400, "user"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p struct {
				Status int    `json:"status"`
				Title  string `json:"title"`
				Field  string `json:"field"`
			}
			if got := call(t, "POST", path, tc.tok, tc.body, &p); got != tc.status || p.Status != tc.status || p.Field != tc.field {
				t.Fatalf("got %d %+v, want %d naming field %q", got, p, tc.status, tc.field)
			}
		})
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
