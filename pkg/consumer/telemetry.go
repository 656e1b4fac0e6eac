package consumer

import (
	"context"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/campaign-live/campaign-live/pkg/kafkax"
)

const scope = "github.com/campaign-live/campaign-live/pkg/consumer"

// startProcess starts the consumer span of a record, a child of the
// producer span named by its traceparent header, so one trace runs from the
// HTTP request through Kafka into this service (and on, through any event
// the handler writes to its own outbox).
func startProcess(ctx context.Context, group string, m kafka.Message) (context.Context, trace.Span) {
	return kafkax.StartProcessSpan(ctx, otel.Tracer(scope), group, m)
}

func endProcess(span trace.Span, err error) { kafkax.EndProcessSpan(span, err) }

// registerLag reports the reader's lag (records behind the partition ends)
// at each scrape; it returns the function that stops reporting.
func registerLag(group string, r *kafka.Reader) func() {
	m := otel.Meter(scope)
	lag, err := m.Int64ObservableGauge("kafka_consumer_lag", metric.WithDescription("Records not yet consumed."))
	if err != nil {
		return func() {}
	}
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(lag, r.Stats().Lag, metric.WithAttributes(attribute.String("group", group)))
		return nil
	}, lag)
	if err != nil {
		return func() {}
	}
	return func() { _ = reg.Unregister() }
}
