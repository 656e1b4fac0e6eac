// Package kafkax configures segmentio/kafka-go the way every campaign-live
// producer and consumer must agree on.
package kafkax

import (
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// DefaultTopic is the topic all campaign events travel on.
const DefaultTopic = "campaign-events"

// NewWriter returns a synchronous producer for topic. Its settings are the
// contract of DESIGN.md §4: the Murmur2 balancer (the Java client's
// partitioner, so every producer puts a campaign in the same partition;
// kafka-go's default is round-robin and ignores keys), acknowledgement by all
// in-sync replicas, and a short linger instead of the default second.
func NewWriter(brokers []string, topic string, batchSize int) *kafka.Writer {
	return &kafka.Writer{
		Addr:                   kafka.TCP(brokers...),
		Topic:                  topic,
		Balancer:               &kafka.Murmur2Balancer{},
		RequiredAcks:           kafka.RequireAll,
		BatchSize:              batchSize,
		BatchTimeout:           time.Millisecond,
		MaxAttempts:            3,
		WriteBackoffMin:        50 * time.Millisecond,
		WriteBackoffMax:        time.Second,
		AllowAutoTopicCreation: false,
	}
}

// AwaitLeaders waits until every one of topic's partitions has a leader,
// asking through conn every 100 ms, for at most wait: a topic created a
// moment ago refuses writes until then.
func AwaitLeaders(conn *kafka.Conn, topic string, partitions int, wait time.Duration) error {
	for deadline := time.Now().Add(wait); ; time.Sleep(100 * time.Millisecond) {
		parts, err := conn.ReadPartitions(topic)
		ready := err == nil && len(parts) == partitions
		for _, p := range parts {
			ready = ready && p.Leader.Port != 0
		}
		if ready {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("topic %s has no leader for every partition after %s: %v", topic, wait, err)
		}
	}
}
