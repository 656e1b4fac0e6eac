//go:build integration

package view_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/services/fanout/internal/view"
)

// script is a topic read in order that exercises every rule of Apply:
// items before their campaign, a milestone replaced, an event published
// twice (at a later offset, and redelivered at its own), an event that
// cannot apply, a partition whose log began again, and a campaign whose key
// moved to another partition.
func script(t *testing.T) []view.Record {
	t.Helper()
	read := func(p int32, o int64) cursor.Position { return cursor.Position{Epoch: 1, Partition: p, Offset: o} }
	ev := func(campaign int64, payload any) *campaignv1.Event {
		var e *campaignv1.Event
		var err error
		switch p := payload.(type) {
		case *campaignv1.Campaign:
			p.Id, p.Title, p.GoalAmount, p.Currency = campaign, fmt.Sprint("c", campaign), "100.00", "USD"
			p.Owner, p.CreatedAt = &campaignv1.User{Id: 3, Username: "ada"}, timestamppb.New(at)
			e, err = event.New("test", campaign, at, p)
		case *campaignv1.Contribution:
			p.CampaignId, p.Currency, p.CreatedAt = campaign, "USD", timestamppb.New(at)
			p.User = &campaignv1.User{Id: 5, Username: "bob"}
			e, err = event.New("test", campaign, at, p)
		case *campaignv1.Comment:
			p.CampaignId, p.Content, p.CreatedAt = campaign, "hi", timestamppb.New(at)
			e, err = event.New("test", campaign, at, p)
		case *campaignv1.Milestone:
			p.CampaignId, p.Title, p.TargetAmount, p.CreatedAt = campaign, "half", "50.00", timestamppb.New(at)
			e, err = event.New("test", campaign, at, p)
		case *campaignv1.Update:
			p.CampaignId, p.Title, p.CreatedAt = campaign, "news", timestamppb.New(at)
			e, err = event.New("test", campaign, at, p)
		case *campaignv1.Release:
			p.CampaignId, p.Title, p.Version, p.CreatedAt = campaign, "v1", "1.0.0", timestamppb.New(at)
			e, err = event.New("test", campaign, at, p)
		}
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	twice := ev(1, &campaignv1.Contribution{Id: 2, Amount: "2.20"})
	comment := ev(1, &campaignv1.Comment{Id: 1})
	update := ev(2, &campaignv1.Update{Id: 1})
	return []view.Record{
		{ev(1, &campaignv1.Campaign{}), read(0, 0)},
		{ev(2, &campaignv1.Contribution{Id: 1, Amount: "0.10"}), read(1, 0)}, // before its campaign
		{ev(1, &campaignv1.Contribution{Id: 3, Amount: "1.10"}), read(0, 1)},
		{ev(2, &campaignv1.Campaign{}), read(1, 1)},
		{comment, read(0, 2)},
		{ev(1, &campaignv1.Milestone{Id: 1, Status: "pending"}), read(0, 3)},
		{ev(1, &campaignv1.Milestone{Id: 2, Status: "pending"}), read(0, 4)},
		{ev(1, &campaignv1.Milestone{Id: 1, Status: "reached", ReachedAt: timestamppb.New(at)}), read(0, 5)},
		{twice, read(0, 6)},
		{twice, read(0, 7)}, // published twice
		{ev(1, &campaignv1.Contribution{Id: 4, Amount: "1e3"}), read(0, 8)}, // cannot apply
		{twice, read(0, 7)}, // redelivered
		{update, read(1, 2)},
		{ev(2, &campaignv1.Release{Id: 1}), read(1, 3)},
		{ev(2, &campaignv1.Contribution{Id: 5, Amount: "0.30"}), read(1, 0)}, // partition 1's log began again
		{update, read(1, 1)}, // an old event in the new log
		{ev(2, &campaignv1.Comment{Id: 2}), read(1, 2)},
		{ev(3, &campaignv1.Campaign{}), read(1, 3)},
		{ev(3, &campaignv1.Contribution{Id: 6, Amount: "5.00"}), read(0, 9)}, // campaign 3 moved to partition 0
		{ev(3, &campaignv1.Contribution{Id: 7, Amount: "5.00"}), read(0, 10)},
		{comment, read(0, 11)}, // published twice, much later
		{ev(1, &campaignv1.Contribution{Id: 8, Amount: "0.01"}), read(0, 12)},
	}
}

// dump is everything the view holds, as text, for comparing two stores.
func dump(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT campaign_id, campaign::text, raised_amount::text, contribution_count, updates::text, releases::text,
			milestones::text, comments::text, contributions::text, pos_epoch, pos_partition, pos_offset
		FROM campaign_view ORDER BY campaign_id`,
		`SELECT event_id, campaign_id, event_type, pos_epoch, pos_partition, pos_offset, encode(frame, 'escape'), occurred_at
		FROM history ORDER BY event_id`,
		`SELECT event_id FROM event_seen ORDER BY event_id`,
		`SELECT partition, epoch, high_offset FROM partition_epoch ORDER BY partition`,
	} {
		rows, err := pool.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&b, vals...)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		b.WriteString("--\n")
	}
	return b.String()
}

func describe(r view.Result) string {
	if r.Err != nil {
		return "invalid"
	}
	s := fmt.Sprintf("dup=%v new-epoch=%v at %v", r.Duplicate, r.NewEpoch, r.Position)
	if d := r.Delivery; d != nil {
		s += fmt.Sprintf(" push %s %s at %v %s", d.EventType, d.EventID, d.Position, d.Frame)
	}
	return s
}

// TestBatchesApplyAsOneByOne: applying the script in batches of any size
// has the same results and leaves the same tables as applying it one event
// per transaction.
func TestBatchesApplyAsOneByOne(t *testing.T) {
	recs := script(t)
	ctx := context.Background()

	one, onePool := newStore(t, 2) // short lists, so items also fall off
	var want []string
	for _, r := range recs {
		res, err := one.Apply(ctx, r.Event, r.At)
		if errors.Is(err, event.ErrInvalid) {
			want = append(want, "invalid")
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, describe(res))
	}
	wantTables := dump(t, onePool)

	for _, size := range []int{1, 2, 3, 5, 8, len(recs)} {
		t.Run(fmt.Sprint("batch=", size), func(t *testing.T) {
			s, pool := newStore(t, 2)
			var got []string
			for i := 0; i < len(recs); i += size {
				res, err := s.ApplyBatch(ctx, recs[i:min(i+size, len(recs))])
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range res {
					if r.Err != nil && !errors.Is(r.Err, event.ErrInvalid) {
						t.Fatalf("Err = %v, want one wrapping event.ErrInvalid", r.Err)
					}
					got = append(got, describe(r))
				}
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("record %d (%s at %v):\n got %s\nwant %s", i, recs[i].Event.GetType(), recs[i].At, got[i], want[i])
				}
			}
			if tables := dump(t, pool); tables != wantTables {
				t.Fatalf("tables after batches of %d:\n%s\nwant, as after one event per transaction:\n%s", size, tables, wantTables)
			}
		})
	}
}
