//go:build integration

package view_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/services/fanout/internal/view"
)

func history(t *testing.T, s *view.Store, after cursor.Position, limit int) view.History {
	t.Helper()
	h, err := s.History(context.Background(), campaignID, after, limit)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func offsets(ds []*view.Delivery) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		out[i] = d.Position.Offset
	}
	return out
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// seed applies the campaign at offset 1 and contributions at 2..n+1.
func seed(t *testing.T, s *view.Store, n int) {
	t.Helper()
	apply(t, s, campaignEvent(t), 1)
	for i := range n {
		apply(t, s, contributionEvent(t, int64(100+i), "1.00"), int64(2+i))
	}
}

func TestHistoryAfterACursor(t *testing.T) {
	s, _ := newStore(t, 20)
	seed(t, s, 5) // offsets 2..6

	h := history(t, s, pos(3), 100)
	if !h.Found || !h.Complete || !equal(offsets(h.Deliveries), []int64{4, 5, 6}) || h.Position != pos(6) {
		t.Fatalf("history after 3 = found %v complete %v %v at %v, want 4 5 6 at offset 6",
			h.Found, h.Complete, offsets(h.Deliveries), h.Position)
	}
	// The frames are what was pushed live: the cursor inside is the position.
	var m struct {
		Type    string `json:"type"`
		Cursor  string `json:"cursor"`
		EventID string `json:"event_id"`
	}
	d := h.Deliveries[0]
	if err := json.Unmarshal(d.Frame, &m); err != nil {
		t.Fatal(err)
	}
	if m.Type != event.TypeContribution || m.Cursor != cursor.Encode(pos(4)) || m.EventID != d.EventID || d.EventID == "" {
		t.Fatalf("first frame %s (event %q), want the contribution at offset 4 with its event id", d.Frame, d.EventID)
	}

	// The campaign event at offset 1 has no frame: after 0 it is skipped.
	if h := history(t, s, pos(1), 100); !h.Complete || !equal(offsets(h.Deliveries), []int64{2, 3, 4, 5, 6}) {
		t.Fatalf("history after 1 = %v %v, want 2..6", h.Complete, offsets(h.Deliveries))
	}
	// Up to date: complete and empty.
	if h := history(t, s, pos(6), 100); !h.Complete || len(h.Deliveries) != 0 {
		t.Fatalf("history after the view = %v %v, want complete and empty", h.Complete, offsets(h.Deliveries))
	}
	// Longer than the limit: a snapshot is cheaper.
	if h := history(t, s, pos(1), 4); h.Complete || len(h.Deliveries) != 0 {
		t.Fatalf("history over the limit = %v %v, want incomplete and empty", h.Complete, offsets(h.Deliveries))
	}
	// Cursors that are not this campaign's now.
	for _, after := range []cursor.Position{
		pos(7), // beyond the view
		{Epoch: 2, Partition: 0, Offset: 3},
		{Epoch: 1, Partition: 1, Offset: 3},
	} {
		if h := history(t, s, after, 100); !h.Found || h.Complete {
			t.Fatalf("history after %v = found %v complete %v, want found and incomplete", after, h.Found, h.Complete)
		}
	}
	// An unknown campaign.
	h, err := s.History(context.Background(), campaignID+1, pos(1), 100)
	if err != nil || h.Found {
		t.Fatalf("history of an unknown campaign = %+v, %v; want not found", h, err)
	}
}

func TestHistoryCarriesVisibility(t *testing.T) {
	s, _ := newStore(t, 20)
	apply(t, s, newEvent(t, &campaignv1.Campaign{
		Id: campaignID, Title: "Secret", GoalAmount: "10.00", Currency: "USD", Private: true,
		Owner: &campaignv1.User{Id: 9, Username: "eve"},
	}), 1)
	h := history(t, s, pos(1), 10)
	if !h.Found || !h.Private || h.OwnerID != 9 {
		t.Fatalf("history = %+v, want a private campaign of user 9", h)
	}
}

func TestPruneByCountKeepsHistoryExact(t *testing.T) {
	s, _ := newStore(t, 20)
	seed(t, s, 10) // offsets 1..11
	ctx := context.Background()
	n, err := s.Prune(ctx, 4, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if n != 7 {
		t.Fatalf("pruned %d rows, want 7 (offsets 1..7)", n)
	}
	// The horizon is offset 7: from 7 on history is exact, before it not.
	if h := history(t, s, pos(7), 100); !h.Complete || !equal(offsets(h.Deliveries), []int64{8, 9, 10, 11}) {
		t.Fatalf("after the horizon: %v %v, want complete 8..11", h.Complete, offsets(h.Deliveries))
	}
	if h := history(t, s, pos(6), 100); h.Complete {
		t.Fatalf("before the horizon: complete %v, want incomplete (offset 7 is gone)", offsets(h.Deliveries))
	}
	// Pruning again changes nothing.
	if n, err := s.Prune(ctx, 4, time.Hour); err != nil || n != 0 {
		t.Fatalf("second prune = %d, %v; want 0", n, err)
	}
	// New events extend the exact history.
	apply(t, s, contributionEvent(t, 999, "2.00"), 12)
	if h := history(t, s, pos(7), 100); !h.Complete || !equal(offsets(h.Deliveries), []int64{8, 9, 10, 11, 12}) {
		t.Fatalf("after a new event: %v %v, want complete 8..12", h.Complete, offsets(h.Deliveries))
	}
}

func TestPrunedEventsStayDeduplicated(t *testing.T) {
	s, _ := newStore(t, 20)
	apply(t, s, campaignEvent(t), 1)
	c := contributionEvent(t, 7, "5.00")
	apply(t, s, c, 2)
	for i := range 3 {
		apply(t, s, contributionEvent(t, int64(20+i), "1.00"), int64(3+i))
	}
	if _, err := s.Prune(context.Background(), 1, time.Hour); err != nil {
		t.Fatal(err)
	}
	// The outbox publishes c again, after its history row is gone.
	res := apply(t, s, c, 6)
	if !res.Duplicate || res.Delivery != nil {
		t.Fatalf("republished pruned event = %+v, want a duplicate with nothing to push", res)
	}
	if _, d := snapshot(t, s); d.ContributionCount != 4 || d.RaisedAmount != "8.00" {
		t.Fatalf("view counts %d raising %s, want 4 and 8.00", d.ContributionCount, d.RaisedAmount)
	}
}

func TestPruneByAge(t *testing.T) {
	s, pool := newStore(t, 20)
	seed(t, s, 5) // offsets 1..6
	ctx := context.Background()
	// Offsets 1..3 are old; so is 5, applied out of time order (it must not
	// leave a hole: everything up to it goes).
	if _, err := pool.Exec(ctx, `UPDATE history SET applied_at = now() - interval '2 hours' WHERE pos_offset IN (1, 2, 3, 5)`); err != nil {
		t.Fatal(err)
	}
	n, err := s.Prune(ctx, 1000, time.Hour)
	if err != nil || n != 5 {
		t.Fatalf("prune = %d, %v; want 5 rows (offsets 1..5)", n, err)
	}
	if h := history(t, s, pos(5), 100); !h.Complete || !equal(offsets(h.Deliveries), []int64{6}) {
		t.Fatalf("after the horizon: %v %v, want complete [6]", h.Complete, offsets(h.Deliveries))
	}
	if h := history(t, s, pos(4), 100); h.Complete {
		t.Fatal("before the horizon: want incomplete")
	}
}

func TestEpochOfARecreatedTopic(t *testing.T) {
	s, _ := newStore(t, 20)
	ctx := context.Background()
	seed(t, s, 3) // epoch 1, offsets 1..4 of partition 0

	// The topic is recreated: partition 0 starts at offset 0 again with new
	// events. The first one starts epoch 2; the next ones stay in it.
	first, err := s.Apply(ctx, contributionEvent(t, 50, "1.00"), pos(0))
	if err != nil {
		t.Fatal(err)
	}
	if !first.NewEpoch || first.Position != (cursor.Position{Epoch: 2, Offset: 0}) {
		t.Fatalf("first event of the new log = %+v, want a new epoch 2 at offset 0", first)
	}
	second, err := s.Apply(ctx, contributionEvent(t, 51, "1.00"), pos(1))
	if err != nil {
		t.Fatal(err)
	}
	if second.NewEpoch || second.Position != (cursor.Position{Epoch: 2, Offset: 1}) {
		t.Fatalf("second event = %+v, want epoch 2 at offset 1", second)
	}
	snap, _ := snapshot(t, s)
	if snap.Position != second.Position {
		t.Fatalf("view at %v, want %v", snap.Position, second.Position)
	}
	// A cursor of epoch 1 is not resumed: its log is gone.
	if h := history(t, s, pos(4), 100); h.Complete {
		t.Fatal("a cursor of the old epoch resumed; want a snapshot")
	}

	// Another partition is untouched by partition 0's epoch.
	other := cursor.Position{Epoch: 1, Partition: 1, Offset: 0}
	e := newEvent(t, &campaignv1.Comment{Id: 1, CampaignId: campaignID + 1, Content: "hi"})
	e.CampaignId = campaignID + 1
	res, err := s.Apply(ctx, e, other)
	if err != nil || res.NewEpoch || res.Position != other {
		t.Fatalf("partition 1 = %+v, %v; want epoch 1", res, err)
	}
}

func TestEpochIsStoredAndFloored(t *testing.T) {
	s, pool := newStore(t, 20)
	ctx := context.Background()
	seed(t, s, 2) // offsets 1..3, epoch 1
	if r, err := s.Apply(ctx, contributionEvent(t, 60, "1.00"), pos(0)); err != nil || r.Position.Epoch != 2 {
		t.Fatalf("reset = %+v, %v; want epoch 2", r, err)
	}
	// A restarted fanout (a new store over the same tables) with
	// CURSOR_EPOCH=1 goes on in epoch 2.
	s2 := view.NewStore(pool, 20)
	r, err := s2.Apply(ctx, contributionEvent(t, 61, "1.00"), pos(1))
	if err != nil || r.NewEpoch || r.Position != (cursor.Position{Epoch: 2, Offset: 1}) {
		t.Fatalf("after restart = %+v, %v; want epoch 2 offset 1", r, err)
	}
	// An operator raising CURSOR_EPOCH to 5 starts epoch 5.
	r, err = s2.Apply(ctx, contributionEvent(t, 62, "1.00"), cursor.Position{Epoch: 5, Offset: 2})
	if err != nil || r.Position != (cursor.Position{Epoch: 5, Offset: 2}) {
		t.Fatalf("raised floor = %+v, %v; want epoch 5 offset 2", r, err)
	}
}

func TestEpochWhenACampaignMovesPartition(t *testing.T) {
	s, _ := newStore(t, 20)
	ctx := context.Background()
	seed(t, s, 2) // partition 0, offsets 1..3
	// Partitions were added and the campaign's key maps elsewhere. Move the campaign to partition 3 first, then to 1: the second move
	// sorts lower in epoch 1 and must start a new epoch.
	r, err := s.Apply(ctx, contributionEvent(t, 70, "1.00"), cursor.Position{Epoch: 1, Partition: 3, Offset: 0})
	if err != nil || r.NewEpoch || r.Position != (cursor.Position{Epoch: 1, Partition: 3, Offset: 0}) {
		t.Fatalf("to partition 3 = %+v, %v", r, err)
	}
	r, err = s.Apply(ctx, contributionEvent(t, 71, "1.00"), cursor.Position{Epoch: 1, Partition: 1, Offset: 0})
	if err != nil || !r.NewEpoch || r.Position != (cursor.Position{Epoch: 2, Partition: 1, Offset: 0}) {
		t.Fatalf("to partition 1 = %+v, %v; want a new epoch 2", r, err)
	}
	snap, d := snapshot(t, s)
	if snap.Position != r.Position || d.ContributionCount != 4 {
		t.Fatalf("view at %v counting %d, want %v and 4", snap.Position, d.ContributionCount, r.Position)
	}
}
