//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestConnectWhileWriting: watchers that connect while contributions are
// being written each see every contribution exactly once, either counted in
// their snapshot or delivered after it (DESIGN.md §3.3). For each watcher,
// the snapshot's contribution_count plus the contributions delivered after
// it must equal the final count, with growing cursors and nothing extra.
func TestConnectWhileWriting(t *testing.T) {
	const writes, watchers = 80, 40
	owner := token(t, 8001, "race")
	c := createCampaign(t, owner, "Connect while writing")
	waitLive(t, c.ID)
	path := fmt.Sprintf("/api/campaigns/%d/contributions", c.ID)

	type result struct {
		snapshot, delivered int64
		err                 string
	}
	results := make([]result, watchers)
	var (
		wg    sync.WaitGroup
		acked atomic.Int64
	)
	done := make(chan struct{})
	for i := range watchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Connects spread over the writes: watcher i joins once 2i
			// are acknowledged, however fast the writes go.
			for acked.Load() < int64(2*i) {
				time.Sleep(time.Millisecond)
			}
			w := watch(t, c.ID, "")
			first := w.next()
			var v struct {
				ContributionCount int64 `json:"contribution_count"`
			}
			if err := json.Unmarshal(first.Data, &v); err != nil || first.Type != "campaign_data" {
				results[i].err = fmt.Sprintf("first message %s: %v", first.Type, err)
				return
			}
			results[i].snapshot = v.ContributionCount
			last := first.Cursor
			for results[i].snapshot+results[i].delivered < writes {
				m := w.next()
				if m.Type != "contribution" || !(m.Cursor > last) {
					results[i].err = fmt.Sprintf("got %s at cursor %s after %s", m.Type, m.Cursor, last)
					return
				}
				last = m.Cursor
				results[i].delivered++
			}
			<-done // every write is in: anything more would be a duplicate
			w.send(map[string]string{"type": "ping"})
			if m := w.next(); m.Type != "pong" {
				results[i].err = fmt.Sprintf("an extra %s message at %s", m.Type, m.Cursor)
			}
		}()
	}
	for range writes {
		if status := call(t, "POST", path, owner, map[string]any{"amount": "1.00", "currency": "USD"}, nil); status != http.StatusCreated {
			t.Fatalf("contribute: %d", status)
		}
		acked.Add(1)
		time.Sleep(4 * time.Millisecond)
	}
	// Wait until the live view has applied every write, then release the
	// watchers' duplicate check.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var live struct {
			Data struct {
				ContributionCount int64 `json:"contribution_count"`
			} `json:"data"`
		}
		call(t, "GET", fmt.Sprintf("/api/live/campaigns/%d", c.ID), "", nil, &live)
		if live.Data.ContributionCount == writes {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the live view counts %d of %d contributions", live.Data.ContributionCount, writes)
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(done)
	wg.Wait()
	mid := 0
	for i, r := range results {
		if r.err != "" {
			t.Errorf("watcher %d: %s", i, r.err)
		}
		if r.snapshot > 0 && r.snapshot < writes {
			mid++
		}
	}
	if mid == 0 {
		t.Fatalf("no watcher connected while writes were in flight; the test proved nothing")
	}
	t.Logf("%d of %d watchers joined mid-stream", mid, watchers)
}
