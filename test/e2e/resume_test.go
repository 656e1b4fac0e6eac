//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestResumeReplaysExactlyTheMissedEvents: a watcher that closes, misses
// three events and reconnects with since=<its last cursor> gets exactly
// those three, in order, then resumed, and no campaign_data.
func TestResumeReplaysExactlyTheMissedEvents(t *testing.T) {
	owner := token(t, 1101, "ada")
	backer := token(t, 2202, "grace")
	c := createCampaign(t, owner, "Resume campaign")
	waitLive(t, c.ID)

	w := watch(t, c.ID, "")
	first := w.next()
	if first.Type != "campaign_data" || first.Cursor == "" {
		t.Fatalf("first message: %q at %q, want campaign_data with a cursor", first.Type, first.Cursor)
	}
	w.conn.Close()

	var ids []float64
	for i, amount := range []string{"1.00", "2.00", "3.00"} {
		var posted map[string]any
		if status := call(t, "POST", fmt.Sprintf("/api/campaigns/%d/contributions", c.ID), backer,
			map[string]any{"amount": amount, "currency": "USD"}, &posted); status != http.StatusCreated {
			t.Fatalf("post contribution %d: status %d %v", i, status, posted)
		}
		ids = append(ids, posted["id"].(float64))
	}
	// The three events have reached the view (and so its history) once the
	// live view counts them.
	waitCount(t, c.ID, 3)

	again := watch(t, c.ID, "since="+url.QueryEscape(first.Cursor))
	last := first.Cursor
	for i, id := range ids {
		m := again.next()
		if m.Type != "contribution" {
			t.Fatalf("message %d after resume: %q, want contribution", i, m.Type)
		}
		var data struct {
			ID float64 `json:"id"`
		}
		if err := json.Unmarshal(m.Data, &data); err != nil {
			t.Fatal(err)
		}
		if data.ID != id || !(m.Cursor > last) || !uuidRE.MatchString(m.EventID) {
			t.Fatalf("message %d: contribution %v at %q (event %q), want %v after %q", i, data.ID, m.Cursor, m.EventID, id, last)
		}
		last = m.Cursor
	}
	m := again.next()
	if m.Type != "resumed" || m.Cursor != last {
		t.Fatalf("after the replay: %q at %q, want resumed at %q", m.Type, m.Cursor, last)
	}
	// Nothing else is queued: the next answer is our pong.
	again.send(map[string]string{"type": "ping"})
	if m := again.next(); m.Type != "pong" {
		t.Fatalf("after resumed: %q, want only the pong", m.Type)
	}
}

// waitCount waits until the live view counts n contributions.
func waitCount(t *testing.T, id int64, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var m struct {
			Data struct {
				ContributionCount int64 `json:"contribution_count"`
			} `json:"data"`
		}
		if call(t, "GET", fmt.Sprintf("/api/live/campaigns/%d", id), "", nil, &m) == http.StatusOK && m.Data.ContributionCount >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign %d never counted %d contributions", id, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
