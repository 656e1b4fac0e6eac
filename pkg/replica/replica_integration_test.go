//go:build integration

package replica_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"

	"github.com/campaign-live/campaign-live/pkg/consumer"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/pkg/replica"
	"github.com/campaign-live/campaign-live/pkg/testkit"
)

func campaignEvent(t *testing.T, id int64, currency string) kafka.Message {
	t.Helper()
	e, err := event.New("content", id, time.Now(), &campaignv1.Campaign{
		Id: id, Title: "t", GoalAmount: "10.00", Currency: currency, Owner: &campaignv1.User{Id: 100 + id, Username: "u"},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := event.Marshal(e)
	return kafka.Message{Key: event.Key(id), Value: b, Headers: []kafka.Header{{Key: event.HeaderType, Value: []byte(e.GetType())}}}
}

// TestReplicaFollowsTheTopic runs the real consumer group over a real topic
// into a real database, and reads the replica as a service would.
func TestReplicaFollowsTheTopic(t *testing.T) {
	pool, _ := testkit.DB(t, consumer.Migrations(), replica.Migrations())
	brokers, topic := testkit.Topic(t, 3)
	w := testkit.Writer(t, brokers, topic, 16)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := w.WriteMessages(ctx, campaignEvent(t, 1, "USD"), campaignEvent(t, 2, "EUR")); err != nil {
		t.Fatal(err)
	}
	c := consumer.New(consumer.Config{Brokers: brokers, Topic: topic, Group: topic + "-replica",
		Handler: replica.Apply, Pool: pool, Log: slog.New(slog.DiscardHandler)})
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()

	lookup := replica.NewLookup(pool, 20*time.Second)
	got, err := lookup.Campaign(ctx, 2)
	if err != nil || got.Currency != "EUR" || got.Owner.ID != 102 {
		t.Fatalf("Campaign(2) = %+v, %v", got, err)
	}
	if _, err := lookup.Campaign(ctx, 1); err != nil {
		t.Fatalf("Campaign(1): %v", err)
	}
	// A campaign created after the lookup started is found once it arrives.
	go func() {
		time.Sleep(200 * time.Millisecond)
		_ = w.WriteMessages(ctx, campaignEvent(t, 3, "GBP"))
	}()
	if got, err := lookup.Campaign(ctx, 3); err != nil || got.Currency != "GBP" {
		t.Fatalf("Campaign(3), written while waiting = %+v, %v", got, err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestLookupWaitsLessBelowTheHighestID: a missing id below the highest known
// is refused after an eighth of the wait.
func TestLookupRefusesAtOnceBelowTheHighestID(t *testing.T) {
	pool, _ := testkit.DB(t, consumer.Migrations(), replica.Migrations())
	ctx := context.Background()
	e, _ := event.New("content", 10, time.Now(), &campaignv1.Campaign{Id: 10, Currency: "USD", Owner: &campaignv1.User{Id: 1, Username: "u"}})
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return replica.Apply(ctx, tx, e) }); err != nil {
		t.Fatal(err)
	}
	lookup := replica.NewLookup(pool, 8*time.Second)
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := lookup.Campaign(wctx, 9); !errors.Is(err, replica.ErrCampaignNotFound) {
		t.Fatalf("Campaign(9) = %v, want ErrCampaignNotFound within an eighth of the wait", err)
	}
	short := replica.NewLookup(pool, 50*time.Millisecond)
	if _, err := short.Campaign(ctx, 11); !errors.Is(err, replica.ErrCampaignNotFound) {
		t.Fatalf("Campaign(11) = %v, want ErrCampaignNotFound after the wait", err)
	}
}

// TestRedeliveryIsSkipped: applying the same record twice applies it once.
func TestRedeliveryIsSkipped(t *testing.T) {
	pool, _ := testkit.DB(t, consumer.Migrations(), replica.Migrations())
	calls := 0
	c := consumer.New(consumer.Config{Topic: "t", Group: "g", Pool: pool, Log: slog.New(slog.DiscardHandler),
		Handler: func(ctx context.Context, tx pgx.Tx, e *campaignv1.Event) error {
			calls++
			return replica.Apply(ctx, tx, e)
		}})
	m := campaignEvent(t, 5, "USD")
	m.Topic, m.Partition, m.Offset = "t", 0, 41
	ctx := context.Background()
	for range 2 {
		if err := c.Apply(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	older := m
	older.Offset = 40
	if err := c.Apply(ctx, older); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Fatalf("handler ran %d times for one record redelivered and an older one, want 1", calls)
	}
}
