//go:build integration

package consumer

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/pkg/pgdb"
	"github.com/campaign-live/campaign-live/services/fanout/internal/hub"
	"github.com/campaign-live/campaign-live/services/fanout/internal/testenv"
	"github.com/campaign-live/campaign-live/services/fanout/internal/view"
)

// BenchmarkConsumeBacklog measures the whole consumer on the real stack: a
// backlog of b.N contributions over 500 campaigns (12 partitions, keyed by
// campaign like the writing services) waits in a fresh topic; a consumer
// group then fetches, applies (real Postgres), publishes (to a hub whose
// one stream watches every campaign and is drained) and commits it, and
// the benchmark reports events/s from its start to the last offset. A
// measurement, not a test:
//
//	go test -tags integration -run '^$' -bench ConsumeBacklog -benchtime 20000x ./internal/consumer/
func BenchmarkConsumeBacklog(b *testing.B) {
	for _, batch := range []int{1, 256} {
		b.Run(fmt.Sprint("batch=", batch), func(b *testing.B) { benchmarkConsume(b, batch) })
	}
}

func benchmarkConsume(b *testing.B, maxBatch int) {
	const campaigns = 500
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pool, err := pgdb.Connect(ctx, testenv.Postgres(b), 10*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	if err := pgdb.Migrate(ctx, pool, log, view.Migrations()); err != nil {
		b.Fatal(err)
	}
	brokers, topic := testenv.Kafka(b, 12)

	var msgs []kafka.Message
	add := func(campaignID int64, payload proto.Message) {
		e, err := event.New("bench", campaignID, time.Now(), payload)
		if err != nil {
			b.Fatal(err)
		}
		v, err := event.Marshal(e)
		if err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, kafka.Message{Key: event.Key(campaignID), Value: v})
	}
	user := &campaignv1.User{Id: 1, Username: "ada"}
	for id := int64(1); id <= campaigns; id++ {
		add(id, &campaignv1.Campaign{Id: id, Title: "bench", GoalAmount: "1000.00", Currency: "USD", Owner: user,
			CreatedAt: timestamppb.Now()})
	}
	for i := range b.N {
		id := int64(1 + (i*7919)%campaigns)
		add(id, &campaignv1.Contribution{Id: int64(i + 1), CampaignId: id, User: user, Amount: "10.50", Currency: "USD",
			CreatedAt: timestamppb.Now()})
	}
	testenv.Produce(b, brokers, topic, msgs...)
	ends := map[int]int64{}
	conn, err := kafka.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		b.Fatal(err)
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range parts {
		c, err := kafka.DialLeader(ctx, "tcp", brokers[0], topic, p.ID)
		if err != nil {
			b.Fatal(err)
		}
		if ends[p.ID], err = c.ReadLastOffset(); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}

	gateways := hub.New(4096, time.Minute, log)
	stream := gateways.Join("bench")
	defer stream.Leave()
	ids := make([]int64, campaigns)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	if err := stream.Subscribe(ctx, 1, ids); err != nil {
		b.Fatal(err)
	}
	go func() {
		for {
			select {
			case <-stream.Queue():
				stream.Sent()
			case <-stream.Done():
				return
			}
		}
	}()

	reader := NewReader(ReaderConfig{Brokers: brokers, Topic: topic, Group: testenv.Name("fanout-bench"),
		CommitInterval: time.Second, SessionTimeout: 10 * time.Second}, log)
	defer reader.Close()
	c := New(reader, view.NewStore(pool, 20), gateways, Config{Epoch: 1, Group: "bench", MaxBatch: maxBatch}, log)
	b.ResetTimer()
	rctx, stop := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- c.Run(rctx) }()
	// Timed from the first records applied, after the group was joined
	// (which takes kafka-go seconds), to the last.
	var (
		start time.Time
		from  int64
	)
	for {
		select {
		case err := <-errc:
			b.Fatalf("Run = %v", err)
		case <-time.After(5 * time.Millisecond):
		}
		next, sum, done := c.Next(), int64(0), true
		for p, end := range ends {
			sum += next[p]
			done = done && next[p] >= end
		}
		if start.IsZero() && sum > 0 {
			start, from = time.Now(), sum
		}
		if done {
			took := time.Since(start)
			stop()
			<-errc
			b.ReportMetric(float64(sum-from)/took.Seconds(), "events/s")
			return
		}
	}
}
