//go:build integration

package kafkax_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/campaign-live/campaign-live/pkg/kafkax"
	"github.com/campaign-live/campaign-live/pkg/testkit"
)

// TestLagPerPartition: the lag of each partition is its high watermark
// minus the next offset to apply: the first offset for a new group, the
// group's committed offset, or what this instance applied, whichever is
// furthest.
func TestLagPerPartition(t *testing.T) {
	brokers, topic := testkit.Topic(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// A new topic's partitions may not have their leader yet: retry.
	write := func(p int, v string) error {
		conn, err := kafka.DialLeader(ctx, "tcp", brokers[0], topic, p)
		if err != nil {
			return err
		}
		defer conn.Close()
		_, err = conn.WriteMessages(kafka.Message{Value: []byte(v)})
		return err
	}
	for p, n := range map[int]int{0: 3, 1: 2} {
		for i := range n {
			for err := write(p, fmt.Sprint(i)); err != nil; err = write(p, fmt.Sprint(i)) {
				if ctx.Err() != nil {
					t.Fatalf("write to partition %d: %v", p, err)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
	transport := &kafka.Transport{}
	defer transport.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second, Transport: transport}
	applied := map[int]int64{}
	lag := &kafkax.Lag{Client: client, Topic: topic, Group: topic + "-group", Log: slog.New(slog.DiscardHandler),
		Next: func() map[int]int64 {
			next := map[int]int64{}
			for p, o := range applied {
				next[p] = o
			}
			return next
		}}
	check := func(want map[int]int64) {
		t.Helper()
		got, err := lag.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("lag %v, want %v", got, want)
		}
	}

	check(map[int]int64{0: 3, 1: 2}) // a new group starts at the first offset
	applied[0] = 1
	check(map[int]int64{0: 2, 1: 2}) // this instance applied offset 0 of partition 0
	// The group committed partition 1 to its end (another instance applied
	// it), and partition 0 short of what this instance applied.
	resp, err := client.OffsetCommit(ctx, &kafka.OffsetCommitRequest{GroupID: lag.Group, GenerationID: -1,
		Topics: map[string][]kafka.OffsetCommit{topic: {{Partition: 0, Offset: 0}, {Partition: 1, Offset: 2}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			t.Fatalf("commit partition %d: %v", p.Partition, p.Error)
		}
	}
	check(map[int]int64{0: 2, 1: 0})
}
