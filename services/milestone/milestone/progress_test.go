//go:build integration

package milestone_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/campaign-live/campaign-live/pkg/consumer"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/kafkax"
	"github.com/campaign-live/campaign-live/pkg/outbox"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/pkg/replica"
	"github.com/campaign-live/campaign-live/pkg/testkit"
	"github.com/campaign-live/campaign-live/pkg/writesvc"
	"github.com/campaign-live/campaign-live/services/milestone/milestone"
)

const topic = "campaign-events"

var quiet = slog.New(slog.DiscardHandler)

// progressDB is a database with the service's whole schema, as writesvc
// migrates it.
func progressDB(t *testing.T) *pgxpool.Pool {
	pool, _ := testkit.DB(t, outbox.Migrations(), consumer.Migrations(), replica.Migrations(), milestone.Migrations())
	return pool
}

// newConsumer is one instance of the service's consumer, handling events as
// writesvc does: campaigns into the replica, contributions to the service.
func newConsumer(pool *pgxpool.Pool, brokers []string, topic, group string) *consumer.Consumer {
	own := milestone.Consume(writesvc.Deps{Pool: pool, Log: quiet})
	return consumer.New(consumer.Config{
		Brokers: brokers, Topic: topic, Group: group, Pool: pool, Log: quiet,
		Types: []string{event.TypeCampaign, event.TypeContribution},
		Handler: func(ctx context.Context, tx pgx.Tx, e *campaignv1.Event) error {
			if err := replica.Apply(ctx, tx, e); err != nil {
				return err
			}
			return own(ctx, tx, e)
		},
	})
}

// contribution is the record of contribution id to campaign, as the
// contribution service's outbox publishes it.
func contribution(t *testing.T, campaign, id int64, amount string, created time.Time) kafka.Message {
	t.Helper()
	e, err := event.New("contribution", campaign, created, &campaignv1.Contribution{
		Id: id, CampaignId: campaign, User: &campaignv1.User{Id: 9, Username: "grace"},
		Amount: amount, Currency: "USD", CreatedAt: timestamppb.New(created),
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := event.Marshal(e)
	return kafka.Message{Topic: topic, Key: event.Key(campaign), Value: b,
		Headers: []kafka.Header{{Key: event.HeaderType, Value: []byte(event.TypeContribution)}}}
}

// at is m at partition p and offset o.
func at(m kafka.Message, p int, o int64) kafka.Message {
	m.Partition, m.Offset = p, o
	return m
}

func apply(t *testing.T, c *consumer.Consumer, msgs ...kafka.Message) {
	t.Helper()
	for _, m := range msgs {
		if err := c.Apply(context.Background(), m); err != nil {
			t.Fatalf("apply offset %d: %v", m.Offset, err)
		}
	}
}

// reachedEvents returns the `milestone` events in the outbox whose status is
// reached, in outbox order.
func reachedEvents(t *testing.T, pool *pgxpool.Pool) []event.MilestoneData {
	t.Helper()
	rows, _ := pool.Query(context.Background(), `SELECT payload FROM outbox WHERE event_type = 'milestone' ORDER BY id`)
	payloads, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		t.Fatal(err)
	}
	var out []event.MilestoneData
	for _, p := range payloads {
		e, err := event.Unmarshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if m := event.MilestoneFromPB(e.GetMilestone()); m.Status == milestone.StatusReached {
			out = append(out, m)
		}
	}
	return out
}

func titles(ms []event.MilestoneData) string {
	s := ""
	for _, m := range ms {
		s += fmt.Sprintf("[%s %s]", m.Title, m.TargetAmount)
	}
	return s
}

func add(t *testing.T, pool *pgxpool.Pool, campaign int64, title, target string) event.MilestoneData {
	t.Helper()
	m, err := milestone.NewStore(pool).CreateMilestone(context.Background(),
		milestone.NewMilestone{CampaignID: campaign, Title: title, TargetAmount: target})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func total(t *testing.T, pool *pgxpool.Pool, campaign int64) string {
	t.Helper()
	var raised string
	_ = pool.QueryRow(context.Background(), `SELECT raised::text FROM campaign_totals WHERE campaign_id = $1`, campaign).Scan(&raised)
	return raised
}

// TestReachedExactlyOnce feeds contribution records to the real consumer
// over a real database: crossing a target yields one reached event, and
// redelivery, a duplicate at a new offset and a restarted consumer add none.
func TestReachedExactlyOnce(t *testing.T) {
	pool := progressDB(t)
	c := newConsumer(pool, nil, topic, "milestone")
	add(t, pool, 42, "First hundred", "100.00")
	add(t, pool, 42, "Kiln", "250.00")
	add(t, pool, 42, "Studio", "1000.00")
	t0 := time.Now().Add(time.Second).UTC().Truncate(time.Microsecond) // after the milestones' creation

	records := []kafka.Message{
		at(contribution(t, 42, 1, "60.00", t0), 0, 0),
		at(contribution(t, 42, 2, "50.00", t0.Add(time.Second)), 0, 1),
	}
	apply(t, c, records[0])
	if got := reachedEvents(t, pool); len(got) != 0 {
		t.Fatalf("60 of 100 raised, reached %s, want none", titles(got))
	}
	apply(t, c, records[1])
	got := reachedEvents(t, pool)
	if len(got) != 1 || got[0].Title != "First hundred" || !got[0].ReachedAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("110 raised: reached %+v, want First hundred at the crossing contribution's time %v", got, t0.Add(time.Second))
	}

	apply(t, c, records[1])           // redelivered
	apply(t, c, at(records[1], 0, 2)) // published again by the outbox, at a new offset
	apply(t, c, at(records[0], 1, 0)) // ...even on another partition's offsets
	restarted := newConsumer(pool, nil, topic, "milestone")
	apply(t, restarted, records[0], records[1]) // a restart rereads from the start
	if got := reachedEvents(t, pool); len(got) != 1 || total(t, pool, 42) != "110.00" {
		t.Fatalf("after duplicates: reached %s and total %s, want one event and 110.00", titles(got), total(t, pool, 42))
	}

	apply(t, restarted, at(contribution(t, 42, 3, "900.00", t0.Add(2*time.Second)), 0, 3))
	if got := reachedEvents(t, pool); titles(got[1:]) != "[Kiln 250.00][Studio 1000.00]" {
		t.Fatalf("1010 raised: reached %s, want Kiln then Studio once each", titles(got))
	}
	apply(t, restarted, at(contribution(t, 43, 4, "5000.00", t0), 0, 4)) // another campaign's money
	if got := reachedEvents(t, pool); len(got) != 3 || total(t, pool, 42) != "1010.00" {
		t.Fatalf("another campaign's contribution: reached %s, total %s", titles(got), total(t, pool, 42))
	}

	late := add(t, pool, 42, "Already there", "500.00")
	if late.Status != milestone.StatusReached || !late.ReachedAt.Equal(late.CreatedAt.Time) {
		t.Fatalf("milestone below the total: %+v, want reached at its creation", late)
	}
	got = reachedEvents(t, pool)
	if len(got) != 4 || got[3].ID != late.ID {
		t.Fatalf("reached events %s, want the late milestone's once, last", titles(got))
	}
	var pending int
	_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM milestones WHERE status = 'pending'`).Scan(&pending)
	if pending != 0 {
		t.Fatalf("%d milestones still pending, want 0", pending)
	}
}

// TestReachedAtNeverBeforeCreation: a contribution made before a milestone
// existed but counted after it reaches it at the milestone's creation.
func TestReachedAtNeverBeforeCreation(t *testing.T) {
	pool := progressDB(t)
	m := add(t, pool, 7, "Goal", "10.00")
	apply(t, newConsumer(pool, nil, topic, "milestone"), at(contribution(t, 7, 1, "10.00", time.Now().Add(-time.Hour)), 0, 0))
	if got := reachedEvents(t, pool); len(got) != 1 || !got[0].ReachedAt.Equal(m.CreatedAt.Time) {
		t.Fatalf("reached %+v, want reached_at = created_at %v", got, m.CreatedAt)
	}
}

// TestMalformedContributionIsSkipped: a record no retry can fix is passed
// over (its offset is stored), and counts for nothing.
func TestMalformedContributionIsSkipped(t *testing.T) {
	pool := progressDB(t)
	add(t, pool, 7, "Goal", "0.01")
	c := newConsumer(pool, nil, topic, "milestone")
	for i, amount := range []string{"", "abc", "-1.00", "1e9", "0.001"} {
		apply(t, c, at(contribution(t, 7, int64(i+1), amount, time.Now()), 0, int64(i)))
	}
	var offset int64
	_ = pool.QueryRow(context.Background(), `SELECT "offset" FROM consumer_offsets`).Scan(&offset)
	if got := reachedEvents(t, pool); len(got) != 0 || total(t, pool, 7) != "0.00" || offset != 4 {
		t.Fatalf("malformed amounts: reached %s, total %q, offset %d; want none, 0.00, 4", titles(got), total(t, pool, 7), offset)
	}
}

// TestMilestoneRacesContribution creates milestones while the contribution
// that reaches them is being counted: whichever commits first, each
// milestone ends reached, announced reached exactly once.
func TestMilestoneRacesContribution(t *testing.T) {
	pool := progressDB(t)
	c := newConsumer(pool, nil, topic, "milestone")
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		campaign := int64(100 + i)
		msg := at(contribution(t, campaign, campaign, "10.00", time.Now()), i, 0) // a partition each
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := milestone.NewStore(pool).CreateMilestone(context.Background(),
				milestone.NewMilestone{CampaignID: campaign, Title: "Ten", TargetAmount: "10.00"})
			errs <- err
		}()
		go func() {
			defer wg.Done()
			errs <- c.Apply(context.Background(), msg)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	perMilestone := map[int64]int{}
	for _, m := range reachedEvents(t, pool) {
		perMilestone[m.ID]++
	}
	var reached int
	_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM milestones WHERE status = 'reached'`).Scan(&reached)
	if reached != n || len(perMilestone) != n {
		t.Fatalf("%d of %d milestones reached, %d announced reached", reached, n, len(perMilestone))
	}
	for id, k := range perMilestone {
		if k != 1 {
			t.Errorf("milestone %d announced reached %d times", id, k)
		}
	}
}

// TestThroughKafka runs the consumer group over a real topic: the outbox's
// duplicate of a contribution is published too, and a second group that
// rereads the whole topic (a new deployment, offsets lost) adds nothing.
func TestThroughKafka(t *testing.T) {
	pool := progressDB(t)
	brokers, topic := testkit.Topic(t, 3)
	add(t, pool, 42, "Half way", "500.00")
	w := kafkax.NewWriter(brokers, topic, 16)
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	campaign, _ := event.New("content", 42, time.Now(), &campaignv1.Campaign{Id: 42, Currency: "USD", Owner: &campaignv1.User{Id: 7, Username: "ada"}})
	cb, _ := event.Marshal(campaign)
	now := time.Now()
	msgs := []kafka.Message{
		{Key: event.Key(42), Value: cb, Headers: []kafka.Header{{Key: event.HeaderType, Value: []byte(event.TypeCampaign)}}},
		contribution(t, 42, 1, "300.00", now),
		contribution(t, 42, 2, "250.00", now),
	}
	msgs = append(msgs, msgs[2]) // the outbox published it twice
	for i := range msgs {
		msgs[i].Topic = ""
	}
	// A new topic takes a moment to have leaders; until then the whole batch
	// is refused, so retrying cannot write it twice.
	deadline := time.Now().Add(10 * time.Second)
	for err := w.WriteMessages(ctx, msgs...); err != nil; err = w.WriteMessages(ctx, msgs...) {
		if time.Now().After(deadline) {
			t.Fatalf("write to the new topic: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, group := range []string{topic + "-a", topic + "-b"} {
		done := make(chan error, 1)
		gctx, stop := context.WithCancel(ctx)
		go func() { done <- newConsumer(pool, brokers, topic, group).Run(gctx) }()
		waitFor(t, 30*time.Second, func() bool {
			var last int64 = -1
			_ = pool.QueryRow(ctx, `SELECT coalesce(max("offset"), -1) FROM consumer_offsets WHERE group_id = $1`, group).Scan(&last)
			return last == int64(len(msgs)-1)
		})
		stop()
		if err := <-done; err != nil {
			t.Fatalf("group %s: %v", group, err)
		}
		if got := reachedEvents(t, pool); len(got) != 1 || got[0].Title != "Half way" || total(t, pool, 42) != "550.00" {
			t.Fatalf("after group %s: reached %s, total %s; want Half way once and 550.00", group, titles(got), total(t, pool, 42))
		}
	}
	if _, err := replica.NewLookup(pool, 0).Campaign(ctx, 42); err != nil {
		t.Fatalf("the campaign event did not reach the replica: %v", err)
	}
}

func waitFor(t *testing.T, limit time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not done after %v", limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
