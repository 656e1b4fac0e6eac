package kafkax

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Lag reports kafka_consumer_lag{group, partition}: per partition of the
// topic, its high watermark minus the next offset the group will apply.
// kafka-go's reader keeps one lag figure for all of a group's partitions,
// so Lag asks the broker instead, at each scrape: the partitions
// (Metadata), their first and high offsets (ListOffsets) and the group's
// committed offsets (OffsetFetch): three small requests.
//
// The next offset is the group's committed offset or, where this instance
// is further on (commits go out every KAFKA_COMMIT_INTERVAL), its own. So
// every instance of the group reports every partition, and they agree once
// commits land: take the max (or any) by partition across instances.
type Lag struct {
	Client *kafka.Client
	Topic  string
	Group  string
	// Next is, per partition, the offset after what this instance applied,
	// when it runs ahead of the group's commits (fanout commits every
	// KAFKA_COMMIT_INTERVAL); nil when the committed offsets are current.
	Next func() map[int]int64
	Log  *slog.Logger

	transport *kafka.Transport // NewLag's, closed when the lag stops
}

// NewLag returns a Lag of group on topic with a client of its own to
// brokers; stopping it (Register's function) closes the client's
// connections.
func NewLag(brokers []string, topic, group string, log *slog.Logger) *Lag {
	t := &kafka.Transport{}
	return &Lag{
		Client: &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 5 * time.Second, Transport: t},
		Topic:  topic, Group: group, Log: log, transport: t,
	}
}

// Register reports the lag at each collection of the global meter
// provider; the returned function stops it.
func (l *Lag) Register() (func(), error) {
	m := otel.Meter("github.com/campaign-live/campaign-live/pkg/kafkax")
	gauge, err := m.Int64ObservableGauge("kafka_consumer_lag",
		metric.WithDescription("Records in the partition not yet applied by the group."))
	if err != nil {
		return nil, fmt.Errorf("kafka_consumer_lag: %w", err)
	}
	reg, err := m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		lags, err := l.Read(ctx)
		if err != nil {
			// No series this scrape: the dashboard shows the gap.
			l.Log.Warn("read consumer lag", "err", err)
			return nil
		}
		group := attribute.String("group", l.Group)
		for p, lag := range lags {
			o.ObserveInt64(gauge, lag, metric.WithAttributes(group, attribute.String("partition", strconv.Itoa(p))))
		}
		return nil
	}, gauge)
	if err != nil {
		return nil, fmt.Errorf("kafka_consumer_lag: %w", err)
	}
	return func() {
		_ = reg.Unregister()
		if l.transport != nil {
			l.transport.CloseIdleConnections()
		}
	}, nil
}

// Read returns the lag of each partition of the topic.
func (l *Lag) Read(ctx context.Context) (map[int]int64, error) {
	meta, err := l.Client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{l.Topic}})
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	var parts []int
	for _, t := range meta.Topics {
		if t.Name != l.Topic {
			continue
		}
		if t.Error != nil {
			return nil, fmt.Errorf("metadata of %s: %w", l.Topic, t.Error)
		}
		for _, p := range t.Partitions {
			parts = append(parts, p.ID)
		}
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("topic %s has no partitions", l.Topic)
	}
	reqs := make([]kafka.OffsetRequest, 0, 2*len(parts))
	for _, p := range parts {
		reqs = append(reqs, kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	offs, err := l.Client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{l.Topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("list offsets: %w", err)
	}
	committed, err := l.Client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: l.Group, Topics: map[string][]int{l.Topic: parts}})
	if err != nil {
		return nil, fmt.Errorf("fetch committed offsets: %w", err)
	}
	if committed.Error != nil {
		return nil, fmt.Errorf("fetch committed offsets: %w", committed.Error)
	}
	next := map[int]int64{}
	if l.Next != nil {
		next = l.Next()
	}
	for _, c := range committed.Topics[l.Topic] {
		if c.Error == nil && c.CommittedOffset >= 0 {
			next[c.Partition] = max(next[c.Partition], c.CommittedOffset)
		}
	}
	lags := make(map[int]int64, len(parts))
	for _, po := range offs.Topics[l.Topic] {
		if po.Error != nil {
			continue
		}
		// A new group starts at the first offset, and so does one whose
		// next record was deleted by retention.
		n := max(next[po.Partition], po.FirstOffset)
		lags[po.Partition] = max(po.LastOffset-n, 0)
	}
	return lags, nil
}
