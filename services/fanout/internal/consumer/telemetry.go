package consumer

import (
	"context"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/campaign-live/campaign-live/pkg/kafkax"
)

const scope = "github.com/campaign-live/campaign-live/services/fanout/internal/consumer"

// startSpan starts the consumer span of a record ("campaign-events
// process"), a child of the producer span named by its traceparent header,
// so one trace runs from the HTTP request through Kafka and the fanout to
// the gateway's push; the same span the writing services' consumers start.
func startSpan(ctx context.Context, group string, m kafka.Message) (context.Context, trace.Span) {
	return kafkax.StartProcessSpan(ctx, otel.Tracer(scope), group, m)
}

// endSpan ends a record's span; err, if any, is why it was not applied.
func endSpan(span trace.Span, err error) { kafkax.EndProcessSpan(span, err) }

// metrics are the consumer's instruments. The Prometheus exporter adds
// _total to counters and the unit to names: fanout_events_applied_total,
// fanout_apply_duration_seconds and so on.
type metrics struct {
	events     metric.Int64Counter
	duplicates metric.Int64Counter
	skips      metric.Int64Counter
	batchSize  metric.Int64Histogram
	duration   metric.Float64Histogram
	latency    metric.Float64Histogram
	inFanout   metric.Float64Histogram
}

func newMetrics(log *slog.Logger) metrics {
	m := otel.Meter(scope)
	var (
		ms   metrics
		errs []error
		err  error
	)
	ms.events, err = m.Int64Counter("fanout_events_applied",
		metric.WithDescription("Events applied to the view, duplicates included, by event type."))
	errs = append(errs, err)
	ms.duplicates, err = m.Int64Counter("fanout_events_duplicate",
		metric.WithDescription("Events applied before (redelivered or published twice), pushed again, by event type."))
	errs = append(errs, err)
	ms.skips, err = m.Int64Counter("fanout_records_skipped",
		metric.WithDescription("Records skipped because they are not events or can never apply, by reason."))
	errs = append(errs, err)
	ms.batchSize, err = m.Int64Histogram("fanout_apply_batch_size",
		metric.WithDescription("Records applied per view transaction."),
		metric.WithExplicitBucketBoundaries(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024))
	errs = append(errs, err)
	ms.duration, err = m.Float64Histogram("fanout_apply_duration", metric.WithUnit("s"),
		metric.WithDescription("Time of one view transaction, commit included."),
		metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
	errs = append(errs, err)
	ms.latency, err = m.Float64Histogram("fanout_publish_latency", metric.WithUnit("s"),
		metric.WithDescription("From an event's occurred_at to its delivery handed to the gateway streams (new events only)."),
		metric.WithExplicitBucketBoundaries(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
	errs = append(errs, err)
	ms.inFanout, err = m.Float64Histogram("fanout_process_latency", metric.WithUnit("s"),
		metric.WithDescription("From an event's record fetched from Kafka to its delivery handed to the gateway streams (new events only): the fanout's own part of the publish latency."),
		metric.WithExplicitBucketBoundaries(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
	errs = append(errs, err)
	for _, err := range errs {
		if err != nil {
			// The instrument still works, as a no-op.
			log.Warn("consumer metric", "err", err)
		}
	}
	return ms
}

func (m metrics) applied(ctx context.Context, eventType string, duplicate bool) {
	attrs := metric.WithAttributes(attribute.String("type", eventType))
	m.events.Add(ctx, 1, attrs)
	if duplicate {
		m.duplicates.Add(ctx, 1, attrs)
	}
}

func (m metrics) skipped(ctx context.Context, reason string) {
	m.skips.Add(ctx, 1, metric.WithAttributes(attribute.String("reason", reason)))
}

func (m metrics) batch(ctx context.Context, size int, took time.Duration) {
	m.batchSize.Record(ctx, int64(size))
	m.duration.Record(ctx, took.Seconds())
}

func (m metrics) published(ctx context.Context, occurredAt, fetched time.Time) {
	now := time.Now()
	m.latency.Record(ctx, now.Sub(occurredAt).Seconds())
	m.inFanout.Record(ctx, now.Sub(fetched).Seconds())
}
