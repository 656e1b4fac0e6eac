//go:build integration

package outbox_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"

	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/kafkax"
	"github.com/campaign-live/campaign-live/pkg/outbox"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/pkg/testkit"
)

// acking wraps the real producer and counts what the broker acknowledged,
// so a benchmark knows the moment events are published without polling
// the table.
type acking struct {
	next  outbox.Publisher
	acked atomic.Int64
	wake  chan struct{}
}

func (a *acking) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	err := a.next.WriteMessages(ctx, msgs...)
	if err == nil {
		a.acked.Add(int64(len(msgs)))
		select {
		case a.wake <- struct{}{}:
		default:
		}
	}
	return err
}

func (a *acking) waitFor(b *testing.B, n int64) {
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for a.acked.Load() < n {
		select {
		case <-a.wake:
		case <-deadline.C:
			b.Fatalf("published %d of %d events", a.acked.Load(), n)
		}
	}
}

// warm publishes one event per campaign of the benchmark and waits for
// them: a new topic's first writes wait for partition leaders and
// metadata, which is set-up, not the relay's cost.
func warm(b *testing.B, pool interface {
	Begin(context.Context) (pgx.Tx, error)
}, pub *acking, campaigns int64) {
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for c := int64(1); c <= campaigns; c++ {
		if err := outbox.Enqueue(ctx, tx, benchEvent(b, c, 0), ""); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		b.Fatal(err)
	}
	pub.waitFor(b, campaigns)
	pub.acked.Store(0)
}

func benchEvent(b *testing.B, campaignID, seq int64) *campaignv1.Event {
	e, err := event.New("bench", campaignID, time.Now(), &campaignv1.Contribution{
		Id: seq, CampaignId: campaignID, User: &campaignv1.User{Id: 3, Username: "ada"},
		Amount: "25.50", Currency: "USD",
	})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkRelayBatch is the relay's throughput: each iteration commits
// 1,000 outbox rows over 50 campaigns (untimed), then times publishing all
// of them to a real broker with acks=all, for several batch sizes (Relay.Batch
// and the producer's BatchSize alike). events/s is the relay's ceiling,
// the most writes per second one service can sustain.
func BenchmarkRelayBatch(b *testing.B) {
	for _, batch := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			pool, _ := testkit.DB(b, outbox.Migrations())
			brokers, topic := testkit.Topic(b, 6)
			w := kafkax.NewWriter(brokers, topic, batch)
			defer w.Close()
			pub := &acking{next: w, wake: make(chan struct{}, 1)}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				_ = (&outbox.Relay{Pool: pool, Publisher: pub, Name: "bench", Log: slog.New(slog.DiscardHandler),
					Batch: batch, Poll: time.Second}).Run(ctx)
			}()
			defer func() { cancel(); <-done }()

			warm(b, pool, pub, 50)
			const perIter = 1000
			var seq, total int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				tx, err := pool.Begin(ctx)
				if err != nil {
					b.Fatal(err)
				}
				for range perIter {
					seq++
					if err := outbox.Enqueue(ctx, tx, benchEvent(b, seq%50+1, seq), ""); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				if err := tx.Commit(ctx); err != nil {
					b.Fatal(err)
				}
				total += perIter
				pub.waitFor(b, total)
			}
			b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkRelayOne is one write's way through the outbox when nothing
// else is queued: commit the row (with its NOTIFY), the relay wakes, reads
// it, and the broker acknowledges it. This is part of every write→socket
// latency in W2.
func BenchmarkRelayOne(b *testing.B) {
	pool, _ := testkit.DB(b, outbox.Migrations())
	brokers, topic := testkit.Topic(b, 6)
	w := kafkax.NewWriter(brokers, topic, 256)
	defer w.Close()
	pub := &acking{next: w, wake: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = (&outbox.Relay{Pool: pool, Publisher: pub, Name: "bench", Log: slog.New(slog.DiscardHandler)}).Run(ctx)
	}()
	defer func() { cancel(); <-done }()
	warm(b, pool, pub, 50)
	var seq int64
	b.ResetTimer()
	for b.Loop() {
		seq++
		tx, err := pool.Begin(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := outbox.Enqueue(ctx, tx, benchEvent(b, seq%50+1, seq), ""); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			b.Fatal(err)
		}
		pub.waitFor(b, seq)
	}
}
