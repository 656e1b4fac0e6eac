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
