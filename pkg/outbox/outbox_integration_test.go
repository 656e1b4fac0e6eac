//go:build integration

package outbox_test

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"

	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/outbox"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/pkg/testkit"
)

func enqueue(t *testing.T, pool *pgxpool.Pool, campaignID, seq int64, commit bool) *campaignv1.Event {
	t.Helper()
	e, err := event.New("test", campaignID, time.Now(), &campaignv1.Comment{Id: seq, CampaignId: campaignID, Content: strconv.FormatInt(seq, 10)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := outbox.Enqueue(ctx, tx, e, ""); err != nil {
		t.Fatal(err)
	}
	if commit {
		err = tx.Commit(ctx)
	} else {
		err = tx.Rollback(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// readAll reads n records from topic, failing after 30 s.
func readAll(t *testing.T, brokers []string, topic string, n int) []kafka.Message {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, GroupID: topic + "-reader", MaxWait: 100 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []kafka.Message
	for len(out) < n {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("read %d of %d records: %v", len(out), n, err)
		}
		out = append(out, m)
	}
	return out
}

func runRelay(t *testing.T, r *outbox.Relay) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestRelayPublishesCommittedEventsInOrder: every committed event reaches
// the topic once, in its campaign's partition, in order; rolled-back ones
// never do; published rows leave the outbox.
func TestRelayPublishesCommittedEventsInOrder(t *testing.T) {
	pool, _ := testkit.DB(t, outbox.Migrations())
	brokers, topic := testkit.Topic(t, 6)
	log := slog.New(slog.DiscardHandler)
	writer := testkit.Writer(t, brokers, topic, 64)

	want := map[int64][]string{} // campaign → event ids in order
	total := 0
	for seq := int64(1); seq <= 200; seq++ {
		campaign := seq%7 + 1
		commit := seq%10 != 0
		e := enqueue(t, pool, campaign, seq, commit)
		if commit {
			want[campaign] = append(want[campaign], e.GetId())
			total++
		}
	}
	// Two relays of one service: one leads, one stands by.
	runRelay(t, &outbox.Relay{Pool: pool, Publisher: writer, Name: "test", Log: log, Batch: 64, Poll: 100 * time.Millisecond})
	runRelay(t, &outbox.Relay{Pool: pool, Publisher: writer, Name: "test", Log: log, Batch: 64, Poll: 100 * time.Millisecond})

	msgs := readAll(t, brokers, topic, total)
	got := map[int64][]string{}
	partitionOf := map[int64]int{}
	for _, m := range msgs {
		e, err := event.Unmarshal(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Key) != strconv.FormatInt(e.GetCampaignId(), 10) {
			t.Fatalf("key %q for campaign %d", m.Key, e.GetCampaignId())
		}
		if p, ok := partitionOf[e.GetCampaignId()]; ok && p != m.Partition {
			t.Fatalf("campaign %d in partitions %d and %d", e.GetCampaignId(), p, m.Partition)
		}
		partitionOf[e.GetCampaignId()] = m.Partition
		got[e.GetCampaignId()] = append(got[e.GetCampaignId()], e.GetId())
	}
	for c, ids := range want {
		if strings.Join(got[c], ",") != strings.Join(ids, ",") {
			t.Errorf("campaign %d: published %d events %v, want %d in order %v", c, len(got[c]), got[c], len(ids), ids)
		}
	}
	var left int
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM outbox").Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if left != 0 {
		t.Fatalf("%d rows left in the outbox after publishing", left)
	}
}

// flaky fails its first calls, as a broker outage would.
type flaky struct {
	failures atomic.Int32
	next     outbox.Publisher
}

func (f *flaky) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	if f.failures.Add(-1) >= 0 {
		return errors.New("broker unavailable")
	}
	return f.next.WriteMessages(ctx, msgs...)
}

// TestRelayKeepsRowsUntilAcknowledged: while publishing fails, rows stay;
// when it recovers, each is published.
func TestRelayKeepsRowsUntilAcknowledged(t *testing.T) {
	pool, _ := testkit.DB(t, outbox.Migrations())
	brokers, topic := testkit.Topic(t, 1)
	writer := testkit.Writer(t, brokers, topic, 16)
	pub := &flaky{next: writer}
	pub.failures.Store(3)

	var ids []string
	for seq := int64(1); seq <= 5; seq++ {
		ids = append(ids, enqueue(t, pool, 9, seq, true).GetId())
	}
	runRelay(t, &outbox.Relay{Pool: pool, Publisher: pub, Name: "test", Log: slog.New(slog.DiscardHandler), Batch: 16, Poll: 50 * time.Millisecond})
	msgs := readAll(t, brokers, topic, 5)
	for i, m := range msgs {
		e, _ := event.Unmarshal(m.Value)
		if e.GetId() != ids[i] {
			t.Fatalf("record %d is %s, want %s", i, e.GetId(), ids[i])
		}
	}
	if pub.failures.Load() >= 0 {
		t.Fatal("the publisher never failed; the test proves nothing")
	}
}

// TestOne: the caller's row and its event are written together, with a
// notification that wakes the relay; when the caller's insert inserts
// nothing, no event is queued and nothing is published.
func TestOne(t *testing.T) {
	ctx := context.Background()
	pool, _ := testkit.DB(t, outbox.Migrations())
	if _, err := pool.Exec(ctx, `CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	listener, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Release()
	if _, err := listener.Exec(ctx, "LISTEN outbox"); err != nil {
		t.Fatal(err)
	}
	insert := outbox.NewOne(`INSERT INTO notes (id, body) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id`, 2)
	write := func(id int64, body string) (*campaignv1.Event, bool) {
		t.Helper()
		e, err := event.New("test", 5, time.Now(), &campaignv1.Comment{Id: id, CampaignId: 5, Content: body})
		if err != nil {
			t.Fatal(err)
		}
		inserted, err := insert.Write(ctx, pool, []any{id, body}, e)
		if err != nil {
			t.Fatal(err)
		}
		return e, inserted
	}

	first, inserted := write(1, "first")
	if !inserted {
		t.Fatal("the first note was not inserted")
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := listener.Conn().WaitForNotification(wctx); err != nil {
		t.Fatalf("no notification for the relay: %v", err)
	}
	if _, inserted := write(1, "again"); inserted {
		t.Fatal("a conflicting note reported inserted")
	}

	var notes, events int
	var eventID string
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM notes), (SELECT count(*) FROM outbox), (SELECT max(event_id::text) FROM outbox)`).
		Scan(&notes, &events, &eventID); err != nil {
		t.Fatal(err)
	}
	if notes != 1 || events != 1 || eventID != first.GetId() {
		t.Fatalf("%d notes and %d events (%s), want 1 and the first note's event %s", notes, events, eventID, first.GetId())
	}

	brokers, topic := testkit.Topic(t, 1)
	writer := testkit.Writer(t, brokers, topic, 16)
	runRelay(t, &outbox.Relay{Pool: pool, Publisher: writer, Name: "test", Log: slog.New(slog.DiscardHandler), Batch: 16, Poll: 50 * time.Millisecond})
	msgs := readAll(t, brokers, topic, 1)
	if e, _ := event.Unmarshal(msgs[0].Value); e.GetId() != first.GetId() || e.GetComment().GetContent() != "first" {
		t.Fatalf("published %v, want the first note's event", e)
	}
}
