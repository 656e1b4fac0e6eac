//go:build integration

package view_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/pkg/pgdb"
	"github.com/campaign-live/campaign-live/services/fanout/internal/testenv"
	"github.com/campaign-live/campaign-live/services/fanout/internal/view"
)

const campaignID = 42

var at = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func newStore(t testing.TB, recent int) (*view.Store, *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgdb.Connect(ctx, testenv.Postgres(t), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pgdb.Migrate(ctx, pool, slog.New(slog.NewTextHandler(io.Discard, nil)), view.Migrations()); err != nil {
		t.Fatal(err)
	}
	return view.NewStore(pool, recent), pool
}

func newEvent(t *testing.T, payload proto.Message) *campaignv1.Event {
	t.Helper()
	e, err := event.New("test", campaignID, at, payload)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func campaignEvent(t *testing.T) *campaignv1.Event {
	return newEvent(t, &campaignv1.Campaign{
		Id: campaignID, Title: "Solar", GoalAmount: "1000.00", Currency: "USD",
		Owner: &campaignv1.User{Id: 3, Username: "ada"}, CreatedAt: timestamppb.New(at),
	})
}

func contributionEvent(t *testing.T, id int64, amount string) *campaignv1.Event {
	return newEvent(t, &campaignv1.Contribution{
		Id: id, CampaignId: campaignID, User: &campaignv1.User{Id: 5, Username: "bob"},
		Amount: amount, Currency: "USD", CreatedAt: timestamppb.New(at),
	})
}

func pos(offset int64) cursor.Position {
	return cursor.Position{Epoch: 1, Partition: 0, Offset: offset}
}

func apply(t *testing.T, s *view.Store, e *campaignv1.Event, offset int64) view.Result {
	t.Helper()
	res, err := s.Apply(context.Background(), e, pos(offset))
	if err != nil {
		t.Fatalf("Apply(%s at %d): %v", e.GetType(), offset, err)
	}
	return res
}

// data is the part of campaign_data the tests read.
type data struct {
	RaisedAmount      string            `json:"raised_amount"`
	ContributionCount int64             `json:"contribution_count"`
	Title             string            `json:"title"`
	Contributions     []json.RawMessage `json:"contributions"`
	Milestones        []struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	} `json:"milestones"`
}

func snapshot(t *testing.T, s *view.Store) (view.Snapshot, data) {
	t.Helper()
	snap, err := s.Snapshot(context.Background(), campaignID)
	if err != nil {
		t.Fatal(err)
	}
	if !snap.Found {
		t.Fatal("campaign not found")
	}
	var frame struct {
		Type   string `json:"type"`
		Data   data   `json:"data"`
		Cursor string `json:"cursor"`
	}
	if err := json.Unmarshal(snap.Frame, &frame); err != nil {
		t.Fatalf("frame %s: %v", snap.Frame, err)
	}
	if frame.Type != "campaign_data" || frame.Cursor != cursor.Encode(snap.Position) {
		t.Fatalf("frame type %q cursor %q, want campaign_data at %s", frame.Type, frame.Cursor, cursor.Encode(snap.Position))
	}
	return snap, frame.Data
}

func TestApplyIsIdempotent(t *testing.T) {
	s, _ := newStore(t, 20)
	apply(t, s, campaignEvent(t), 1)
	c := contributionEvent(t, 7, "25.50")
	first := apply(t, s, c, 2)
	if first.Duplicate || first.Delivery == nil || first.Delivery.Position != pos(2) {
		t.Fatalf("first apply = %+v, want a fresh delivery at offset 2", first)
	}

	// The same record again (a redelivery after a crash).
	again := apply(t, s, c, 2)
	if !again.Duplicate || again.Delivery == nil || string(again.Delivery.Frame) != string(first.Delivery.Frame) ||
		again.Delivery.Position != pos(2) {
		t.Fatalf("redelivery = %+v, want a duplicate pushing the first frame at offset 2", again)
	}
	// The same event published again at a later offset (the outbox is at
	// least once).
	republished := apply(t, s, c, 5)
	if !republished.Duplicate || republished.Delivery == nil || republished.Delivery.Position != pos(2) ||
		string(republished.Delivery.Frame) != string(first.Delivery.Frame) {
		t.Fatalf("republished = %+v, want a duplicate pushing the first frame at offset 2", republished)
	}

	snap, d := snapshot(t, s)
	if d.ContributionCount != 1 || d.RaisedAmount != "25.50" || len(d.Contributions) != 1 {
		t.Fatalf("view counts %d contributions raising %s (%d listed), want 1, 25.50, 1",
			d.ContributionCount, d.RaisedAmount, len(d.Contributions))
	}
	if snap.Position != pos(5) {
		t.Fatalf("view position %v, want offset 5: it reflects the republished record too", snap.Position)
	}

	// A new event at an older offset: the partition's log began again (the
	// topic was recreated), so it is applied in the next epoch, after
	// everything of the previous one.
	newer := apply(t, s, contributionEvent(t, 8, "1.00"), 4)
	want := cursor.Position{Epoch: 2, Partition: 0, Offset: 4}
	if newer.Duplicate || !newer.NewEpoch || newer.Delivery == nil || newer.Delivery.Position != want {
		t.Fatalf("new event at an older offset = %+v, want it applied at %v in a new epoch", newer, want)
	}
	if snap, d := snapshot(t, s); d.ContributionCount != 2 || snap.Position != want {
		t.Fatalf("view counts %d at %v, want 2 at %v", d.ContributionCount, snap.Position, want)
	}
}

func TestConcurrentApplyCountsOnce(t *testing.T) {
	s, _ := newStore(t, 20)
	apply(t, s, campaignEvent(t), 1)
	c := contributionEvent(t, 7, "10.00")
	var wg sync.WaitGroup
	fresh := make(chan bool, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(offset int64) {
			defer wg.Done()
			res, err := s.Apply(context.Background(), c, pos(offset))
			if err != nil {
				t.Error(err)
				return
			}
			fresh <- !res.Duplicate
		}(int64(2 + i%2)) // two owners, each at its own offset
	}
	wg.Wait()
	close(fresh)
	n := 0
	for f := range fresh {
		if f {
			n++
		}
	}
	if _, d := snapshot(t, s); n != 1 || d.ContributionCount != 1 || d.RaisedAmount != "10.00" {
		t.Fatalf("%d fresh applies, count %d, raised %s; want 1, 1, 10.00", n, d.ContributionCount, d.RaisedAmount)
	}
}

func TestRaisedAmountIsExact(t *testing.T) {
	s, pool := newStore(t, 5)
	apply(t, s, campaignEvent(t), 1)
	offset := int64(2)
	for i := 0; i < 100; i++ {
		for _, amount := range []string{"0.10", "0.20"} {
			e := contributionEvent(t, offset, amount)
			apply(t, s, e, offset)
			apply(t, s, e, offset+1000) // republished: must not count
			offset++
		}
	}
	_, d := snapshot(t, s)
	if d.RaisedAmount != "30.00" || d.ContributionCount != 200 {
		t.Fatalf("raised %s from %d contributions, want 30.00 from 200", d.RaisedAmount, d.ContributionCount)
	}
	if len(d.Contributions) != 5 {
		t.Fatalf("%d recent contributions, want RECENT_ITEMS=5", len(d.Contributions))
	}
	var newest event.ContributionData
	if err := json.Unmarshal(d.Contributions[0], &newest); err != nil || newest.ID != offset-1 {
		t.Fatalf("newest contribution %s, want id %d first", d.Contributions[0], offset-1)
	}
	var stored string
	if err := pool.QueryRow(context.Background(), `SELECT raised_amount::text FROM campaign_view`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != "30.00" {
		t.Fatalf("stored raised_amount %s, want exactly 30.00", stored)
	}
}

func TestEventsBeforeTheirCampaign(t *testing.T) {
	s, _ := newStore(t, 20)
	apply(t, s, contributionEvent(t, 7, "5.00"), 1)
	snap, err := s.Snapshot(context.Background(), campaignID)
	if err != nil || snap.Found {
		t.Fatalf("Snapshot before the campaign event = %+v, %v; want not found", snap, err)
	}
	apply(t, s, campaignEvent(t), 2)
	snap, d := snapshot(t, s)
	if d.Title != "Solar" || d.ContributionCount != 1 || d.RaisedAmount != "5.00" || snap.OwnerID != 3 {
		t.Fatalf("view %+v owner %d, want the campaign with its earlier contribution", d, snap.OwnerID)
	}
}

func TestMilestoneReachedReplacesPending(t *testing.T) {
	s, _ := newStore(t, 20)
	apply(t, s, campaignEvent(t), 1)
	milestone := func(id int64, status string) *campaignv1.Event {
		return newEvent(t, &campaignv1.Milestone{Id: id, CampaignId: campaignID, Title: "half", TargetAmount: "500.00",
			Status: status, CreatedAt: timestamppb.New(at)})
	}
	apply(t, s, milestone(1, "pending"), 2)
	apply(t, s, milestone(2, "pending"), 3)
	apply(t, s, milestone(1, "reached"), 4)
	_, d := snapshot(t, s)
	if len(d.Milestones) != 2 || d.Milestones[0].ID != 2 || d.Milestones[1].ID != 1 || d.Milestones[1].Status != "reached" {
		t.Fatalf("milestones %+v, want [2 pending, 1 reached]", d.Milestones)
	}
}

func TestInvalidAmountIsRefused(t *testing.T) {
	s, _ := newStore(t, 20)
	_, err := s.Apply(context.Background(), contributionEvent(t, 7, "1e3"), pos(1))
	if !errors.Is(err, event.ErrInvalid) {
		t.Fatalf("Apply with amount 1e3 = %v, want event.ErrInvalid", err)
	}
}

func TestSnapshotOfUnknownCampaign(t *testing.T) {
	s, _ := newStore(t, 20)
	snap, err := s.Snapshot(context.Background(), 999)
	if err != nil || snap.Found {
		t.Fatalf("Snapshot(999) = %+v, %v; want not found", snap, err)
	}
}
