//go:build integration

package consumer

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/campaign-live/campaign-live/services/fanout/internal/testenv"
)

// TestLagPerPartition: the lag of each partition is its high watermark
// minus the next offset to apply: the first offset for a new group, the
// group's committed offset, or what this instance applied, whichever is
// furthest.
func TestLagPerPartition(t *testing.T) {
	brokers, topic := testenv.Kafka(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for p, n := range map[int]int{0: 3, 1: 2} {
		conn, err := kafka.DialLeader(ctx, "tcp", brokers[0], topic, p)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if _, err := conn.WriteMessages(kafka.Message{Value: []byte(fmt.Sprint(i))}); err != nil {
				t.Fatal(err)
			}
		}
		conn.Close()
	}
	transport := &kafka.Transport{}
	defer transport.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second, Transport: transport}
	applied := map[int]int64{}
	lag := &Lag{Client: client, Topic: topic, Group: testenv.Name("fanout-test"), Log: quiet,
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
