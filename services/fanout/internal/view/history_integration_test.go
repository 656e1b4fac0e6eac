//go:build integration

package view_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/types/known/timestamppb"

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
	n, err := pruneAll(ctx, s, 4, time.Hour)
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
	if n, err := pruneAll(ctx, s, 4, time.Hour); err != nil || n != 0 {
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
	if _, err := pruneAll(context.Background(), s, 1, time.Hour); err != nil {
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
	n, err := pruneAll(ctx, s, 1000, time.Hour)
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

// feed applies events to partition 0 of epoch 1 at growing offsets, as
// the topic would deliver them.
type feed struct {
	t    *testing.T
	s    *view.Store
	next int64
}

func newFeed(t *testing.T, s *view.Store) *feed { return &feed{t: t, s: s, next: 1} }

// campaign applies campaignID's own event.
func (f *feed) campaign() {
	f.t.Helper()
	apply(f.t, f.s, campaignEvent(f.t), f.next)
	f.next++
}

// contributions applies n contributions to campaign and returns their
// offsets.
func (f *feed) contributions(campaign int64, n int) []int64 {
	f.t.Helper()
	var offsets []int64
	for range n {
		e := newEvent(f.t, &campaignv1.Contribution{
			Id: f.next, CampaignId: campaign, User: &campaignv1.User{Id: 5, Username: "bob"},
			Amount: "1.00", Currency: "USD", CreatedAt: timestamppb.New(at),
		})
		e.CampaignId = campaign
		apply(f.t, f.s, e, f.next)
		offsets = append(offsets, f.next)
		f.next++
	}
	return offsets
}

func prune(t *testing.T, p *view.Pruner) view.Pruned {
	t.Helper()
	d, err := p.Prune(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// kept returns campaign's history offsets, oldest first.
func kept(t *testing.T, pool *pgxpool.Pool, campaign int64) []int64 {
	t.Helper()
	rows, err := pool.Query(context.Background(),
		`SELECT pos_offset FROM history WHERE campaign_id = $1 ORDER BY pos_epoch, pos_partition, pos_offset`, campaign)
	if err != nil {
		t.Fatal(err)
	}
	offsets, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	return offsets
}

func exec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestPruneCutsACampaignWrittenSinceTheLastRound(t *testing.T) {
	s, pool := newStore(t, 20)
	f := newFeed(t, s)
	f.campaign()
	f.contributions(campaignID, 2) // offsets 1..3
	p := view.NewPruner(s, view.Retention{HistoryEvents: 4, HistoryAge: time.Hour})
	if d := prune(t, p); d.ByCount != 0 || d.Counted != 1 {
		t.Fatalf("first round = %+v, want campaign counted and nothing deleted", d)
	}

	f.contributions(campaignID, 10) // offsets 4..13
	if d := prune(t, p); d.ByCount != 9 || d.ByAge != 0 {
		t.Fatalf("round after 10 events = %+v, want 9 rows deleted by count (offsets 1..9)", d)
	}
	if got := kept(t, pool, campaignID); !equal(got, []int64{10, 11, 12, 13}) {
		t.Fatalf("history holds %v, want the newest 4: 10..13", got)
	}
	// A resume from the cut replays exactly; one from before it cannot.
	if h := history(t, s, pos(9), 100); !h.Complete || !equal(offsets(h.Deliveries), []int64{10, 11, 12, 13}) {
		t.Fatalf("after the cut: complete %v %v, want complete 10..13", h.Complete, offsets(h.Deliveries))
	}
	if h := history(t, s, pos(8), 100); h.Complete {
		t.Fatalf("before the cut: complete %v, want incomplete (offset 9 is gone)", offsets(h.Deliveries))
	}
	if d := prune(t, p); d.ByCount != 0 {
		t.Fatalf("round with nothing new = %+v, want nothing deleted", d)
	}
}

func TestPruneLeavesACampaignNotWrittenSinceUntilItAges(t *testing.T) {
	s, pool := newStore(t, 20)
	ctx := context.Background()
	f := newFeed(t, s)
	retention := view.Retention{HistoryEvents: 4, HistoryAge: time.Hour}
	p := view.NewPruner(s, retention)
	prune(t, p)
	// Ten events the pruner takes for older than its last round: their
	// applied_at is ten minutes back, as if they were written before it
	// and missed by it.
	f.contributions(campaignID, 10) // offsets 1..10
	exec(t, pool, `UPDATE history SET applied_at = applied_at - interval '10 minutes'`)

	if d := prune(t, p); d.Counted != 0 || d.ByCount != 0 {
		t.Fatalf("round = %+v, want no campaign counted: none was written since the last", d)
	}
	if got := kept(t, pool, campaignID); len(got) != 10 {
		t.Fatalf("history holds %v, want all 10 until they age out", got)
	}
	// The three oldest age out: only they go.
	exec(t, pool, `UPDATE history SET applied_at = now() - interval '2 hours' WHERE pos_offset <= 3`)
	if d := prune(t, p); d.ByAge != 3 || d.ByCount != 0 {
		t.Fatalf("round = %+v, want the 3 aged rows deleted by age", d)
	}
	if got := kept(t, pool, campaignID); !equal(got, []int64{4, 5, 6, 7, 8, 9, 10}) {
		t.Fatalf("history holds %v, want 4..10", got)
	}
	// A restarted fanout's first round counts every campaign.
	d, err := view.NewPruner(s, retention).Prune(ctx)
	if err != nil || d.ByCount != 3 || d.Counted != 1 {
		t.Fatalf("first round after a restart = %+v, %v; want 3 rows deleted by count", d, err)
	}
	if got := kept(t, pool, campaignID); !equal(got, []int64{7, 8, 9, 10}) {
		t.Fatalf("history holds %v, want the newest 4: 7..10", got)
	}
}

func TestPruneSeenForgetsOnlyOldEventIDs(t *testing.T) {
	s, pool := newStore(t, 20)
	ctx := context.Background()
	apply(t, s, campaignEvent(t), 1)
	events := []*campaignv1.Event{}
	for i := range 4 {
		e := contributionEvent(t, int64(10+i), "1.00")
		apply(t, s, e, int64(2+i))
		events = append(events, e)
	}
	// The campaign event and the first two contributions were applied 16
	// days ago.
	old := []string{events[0].GetId(), events[1].GetId()}
	exec(t, pool, `UPDATE event_seen SET applied_at = now() - interval '16 days'
		WHERE event_id = ANY($1) OR event_id NOT IN (SELECT event_id FROM history WHERE frame IS NOT NULL)`, old)

	// Zero keeps every id.
	if d, err := view.NewPruner(s, view.Retention{HistoryEvents: 100, HistoryAge: 24 * time.Hour}).Prune(ctx); err != nil || d.Seen != 0 {
		t.Fatalf("round with SeenAge 0 = %+v, %v; want nothing forgotten", d, err)
	}
	p := view.NewPruner(s, view.Retention{HistoryEvents: 100, HistoryAge: 24 * time.Hour, SeenAge: 15 * 24 * time.Hour})
	if d := prune(t, p); d.Seen != 3 || d.ByAge+d.ByCount != 0 {
		t.Fatalf("round = %+v, want 3 event ids forgotten and history untouched", d)
	}
	rows, err := pool.Query(ctx, `SELECT event_id FROM event_seen ORDER BY event_id`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{events[2].GetId(), events[3].GetId()}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("event_seen holds %v, want the two recent ids %v", got, want)
	}
	// A recent event read again is still a duplicate.
	if res := apply(t, s, events[3], 6); !res.Duplicate || res.Delivery == nil || res.Delivery.Position != pos(5) {
		t.Fatalf("recent event again = %+v, want a duplicate pushing its first delivery at offset 5", res)
	}
	if _, d := snapshot(t, s); d.ContributionCount != 4 {
		t.Fatalf("view counts %d contributions, want 4", d.ContributionCount)
	}
}

func TestPruneBoundsEachTransactionAndFinishes(t *testing.T) {
	s, pool := newStore(t, 20)
	// Every delete statement records, per transaction, how many rows it
	// deleted from which table.
	exec(t, pool, `CREATE TABLE deletes (tx bigint, tbl text, n bigint)`)
	exec(t, pool, `CREATE FUNCTION count_deletes() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			INSERT INTO deletes SELECT txid_current(), TG_TABLE_NAME, count(*) FROM gone;
			RETURN NULL;
		END $$`)
	for _, table := range []string{"history", "event_seen"} {
		exec(t, pool, `CREATE TRIGGER count_deletes AFTER DELETE ON `+table+`
			REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION count_deletes()`)
	}
	f := newFeed(t, s)
	f.campaign() // offset 1
	for range 10 {
		f.contributions(campaignID, 1)
		f.contributions(campaignID+1, 1)
		f.contributions(campaignID+2, 1)
	}
	// campaignID has 11 rows, its 5 oldest aged out; the others 10 each.
	exec(t, pool, `UPDATE history SET applied_at = now() - interval '2 hours'
		WHERE event_id IN (SELECT event_id FROM history WHERE campaign_id = $1 ORDER BY pos_offset LIMIT 5)`, campaignID)
	exec(t, pool, `UPDATE event_seen SET applied_at = now() - interval '16 days'
		WHERE event_id IN (SELECT event_id FROM event_seen ORDER BY applied_at LIMIT 9)`)

	const batch = 4
	p := view.NewPruner(s, view.Retention{
		HistoryEvents: 3, HistoryAge: time.Hour, SeenAge: 15 * 24 * time.Hour,
		BatchRows: batch, BatchCampaigns: 2,
	})
	d := prune(t, p)
	// By age 5; by count 3 of campaignID's remaining 6 and 7 of each other.
	if d.ByAge != 5 || d.ByCount != 17 || d.Counted != 3 || d.Seen != 9 {
		t.Fatalf("round = %+v, want 5 rows by age, 17 by count of 3 campaigns, 9 event ids", d)
	}
	for c := int64(campaignID); c <= campaignID+2; c++ {
		if got := kept(t, pool, c); len(got) != 3 {
			t.Fatalf("campaign %d keeps %v, want its newest 3", c, got)
		}
	}
	rows, err := pool.Query(context.Background(), `SELECT tbl, sum(n) FROM deletes GROUP BY tx, tbl`)
	if err != nil {
		t.Fatal(err)
	}
	type tx struct {
		Table string
		Rows  int64
	}
	txs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[tx])
	if err != nil {
		t.Fatal(err)
	}
	total := map[string]int64{}
	for _, x := range txs {
		if x.Rows > batch {
			t.Errorf("a transaction deleted %d rows of %s, want at most %d", x.Rows, x.Table, batch)
		}
		total[x.Table] += x.Rows
	}
	if total["history"] != 22 || total["event_seen"] != 9 || len(txs) < 22/batch+9/batch {
		t.Fatalf("%d transactions deleted %v, want 22 history rows and 9 event ids, %d at a time", len(txs), total, batch)
	}
	// History stays exact across the many cuts: campaignID's events are
	// every third offset, and its cut is the fourth newest.
	cut := f.next - 3 - 9
	if h := history(t, s, pos(cut), 100); !h.Complete || !equal(offsets(h.Deliveries), []int64{cut + 3, cut + 6, cut + 9}) {
		t.Fatalf("from the cut at %d: complete %v %v, want its newest 3", cut, h.Complete, offsets(h.Deliveries))
	}
	if h := history(t, s, pos(cut-1), 100); h.Complete {
		t.Fatalf("from before the cut at %d: want incomplete", cut)
	}
}

// benchCampaigns campaigns of benchPerCampaign events each make the
// history BenchmarkPruneRound prunes.
const (
	benchCampaigns   = 10_000
	benchPerCampaign = 50
	benchRows        = benchCampaigns * benchPerCampaign
)

// seedBench fills history, event_seen and campaign_view with benchRows
// events in one statement each: positions and applied_at grow together
// within a campaign, from 20 h to a minute ago.
func seedBench(b *testing.B, pool *pgxpool.Pool) {
	b.Helper()
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO history (event_id, campaign_id, event_type, pos_epoch, pos_partition, pos_offset, frame, occurred_at, applied_at)
		SELECT gen_random_uuid()::text, c, 'contribution', 1, c % 12, i * 100000 + c,
			convert_to(repeat('x', 270), 'UTF8'), now(), now() - interval '1 minute' - (50 - i) * interval '25 minutes'
		FROM generate_series(1, 50) AS i, generate_series(1, 10000) AS c`,
		`INSERT INTO event_seen (event_id, applied_at) SELECT event_id, applied_at FROM history`,
		`INSERT INTO campaign_view (campaign_id, campaign, pos_epoch, pos_partition, pos_offset)
		SELECT c, '{}', 1, c % 12, 50 * 100000 + c FROM generate_series(1, 10000) AS c`,
		`VACUUM ANALYZE history, event_seen, campaign_view`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}

func benchExec(b *testing.B, pool *pgxpool.Pool, sql string, args ...any) {
	b.Helper()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPruneRound times one prune round (HISTORY_MAX_EVENTS 1000,
// HISTORY_MAX_AGE 24h, EVENT_SEEN_MAX_AGE 15 days) over a history and a
// dedupe of 500,000 rows each, of 10,000 campaigns. It creates them in a
// schema of its own, so point DATABASE_URL_FANOUT at a scratch database:
//
//	DATABASE_URL_FANOUT=postgres://…/scratch go test -tags integration \
//		-run '^$' -bench PruneRound -benchtime 5x ./internal/view/
func BenchmarkPruneRound(b *testing.B) {
	s, pool := newStore(b, 20)
	seedBench(b, pool)
	ctx := context.Background()
	retention := view.Retention{HistoryEvents: 1000, HistoryAge: 24 * time.Hour, SeenAge: 15 * 24 * time.Hour}
	p := view.NewPruner(s, retention)
	round := func(b *testing.B, p *view.Pruner) view.Pruned {
		d, err := p.Prune(ctx)
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	// after times the round that follows an untimed round and sql.
	after := func(b *testing.B, sql string, args ...any) view.Pruned {
		b.StopTimer()
		round(b, p)
		benchExec(b, pool, sql, args...)
		b.StartTimer()
		return round(b, p)
	}
	// The first round of a fanout counts every campaign.
	b.Run("first-deletes-nothing", func(b *testing.B) {
		for range b.N {
			if d := round(b, view.NewPruner(s, retention)); d.ByAge+d.ByCount+d.Seen != 0 {
				b.Fatalf("round = %+v, want nothing deleted", d)
			}
		}
	})
	round(b, p)
	// No event since the last round.
	b.Run("idle-deletes-nothing", func(b *testing.B) {
		for range b.N {
			if d := round(b, p); d.ByAge+d.ByCount+d.Seen != 0 {
				b.Fatalf("round = %+v, want nothing deleted", d)
			}
		}
	})
	b.Run("history-deletes-1pct", func(b *testing.B) {
		for range b.N {
			d := after(b, `UPDATE history SET applied_at = now() - interval '25 hours'
				WHERE event_id IN (SELECT event_id FROM history ORDER BY applied_at, campaign_id LIMIT $1)`, benchRows/100)
			if d.ByAge != benchRows/100 || d.ByCount+d.Seen != 0 {
				b.Fatalf("round = %+v, want %d history rows deleted by age", d, benchRows/100)
			}
		}
	})
	b.Run("event-seen-deletes-1pct", func(b *testing.B) {
		for range b.N {
			d := after(b, `UPDATE event_seen SET applied_at = now() - interval '16 days'
				WHERE event_id IN (SELECT event_id FROM event_seen ORDER BY applied_at LIMIT $1)`, benchRows/100)
			if d.Seen != benchRows/100 || d.ByAge+d.ByCount != 0 {
				b.Fatalf("round = %+v, want %d event ids forgotten", d, benchRows/100)
			}
		}
	})
	// A minute at 1,000 events/s: 60,000 rows of every campaign written
	// since the last round. Last, since these rows stay within the next
	// rounds' overlap.
	b.Run("after-60k-events-deletes-nothing", func(b *testing.B) {
		for range b.N {
			d := after(b, `UPDATE history SET applied_at = clock_timestamp()
				WHERE event_id IN (SELECT event_id FROM history ORDER BY applied_at DESC LIMIT 60000)`)
			if d.ByAge+d.ByCount+d.Seen != 0 || d.Counted != benchCampaigns {
				b.Fatalf("round = %+v, want every campaign counted and nothing deleted", d)
			}
		}
	})
}

// pruneAll bounds every campaign's history, as one round of a new Pruner
// (which counts every campaign) with SeenAge zero: it keeps the newest
// maxEvents events and those applied within maxAge, and returns how many
// rows it deleted.
func pruneAll(ctx context.Context, s *view.Store, maxEvents int, maxAge time.Duration) (int64, error) {
	p, err := view.NewPruner(s, view.Retention{HistoryEvents: maxEvents, HistoryAge: maxAge}).Prune(ctx)
	return p.ByAge + p.ByCount, err
}
