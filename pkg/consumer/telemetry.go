package consumer

import (
	"context"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel"
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

// registerLag reports the group's lag per partition at each scrape (see
// kafkax.Lag; the committed offsets are current, since this consumer
// commits after every batch); it returns the function that stops it.
func registerLag(cfg Config) func() {
	stop, err := kafkax.NewLag(cfg.Brokers, cfg.Topic, cfg.Group, cfg.Log).Register()
	if err != nil {
		cfg.Log.Warn("no consumer lag metric", "err", err)
		return func() {}
	}
	return stop
}
