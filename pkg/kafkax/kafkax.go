// Package kafkax configures segmentio/kafka-go the way every campaign-live
// producer and consumer must agree on.
package kafkax

import (
	"time"

	"github.com/segmentio/kafka-go"
)

// DefaultTopic is the topic all campaign events travel on.
const DefaultTopic = "campaign-events"

// NewWriter returns a synchronous producer for topic. Its settings are the
// contract of DESIGN.md §4: the Murmur2 balancer (the Java client's
// partitioner, so every producer puts a campaign in the same partition;
// kafka-go's default is round-robin and ignores keys), acknowledgement by all
// in-sync replicas, and no linger (kafka-go's default is a second). Its one
// user, the outbox relay, hands it everything that accumulated while the
// previous batch was in flight and waits for the acknowledgement, so a
// linger only delays: it was a millisecond of every batch. A call's records
// for one partition still go in one request (kafka-go adds them under the
// partition's lock, which the batch timer waits for).
func NewWriter(brokers []string, topic string, batchSize int) *kafka.Writer {
	return &kafka.Writer{
		Addr:                   kafka.TCP(brokers...),
		Topic:                  topic,
		Balancer:               &kafka.Murmur2Balancer{},
		RequiredAcks:           kafka.RequireAll,
		BatchSize:              batchSize,
		BatchTimeout:           time.Microsecond, // 0 would mean kafka-go's second
		MaxAttempts:            3,
		WriteBackoffMin:        50 * time.Millisecond,
		WriteBackoffMax:        time.Second,
		AllowAutoTopicCreation: false,
	}
}
