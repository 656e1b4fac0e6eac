package outbox

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/telemetry"
)

const scope = "github.com/campaign-live/campaign-live/pkg/outbox"

// startPublish starts the producer span of one message, a child of the
// request that wrote the row (its stored traceparent), and puts the span's
// own context in the message's traceparent header for the consumers.
func (r *Relay) startPublish(ctx context.Context, m kafka.Message) (kafka.Message, trace.Span) {
	parent := ctx
	for _, h := range m.Headers {
		if h.Key == event.HeaderTraceparent {
			parent = telemetry.WithTraceparent(ctx, string(h.Value))
		}
	}
	ctx, span := otel.Tracer(scope).Start(parent, r.Topic+" publish",
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			semconv.MessagingSystemKafka,
			semconv.MessagingOperationTypeSend,
			semconv.MessagingDestinationName(r.Topic),
			semconv.MessagingKafkaMessageKey(string(m.Key)),
			attribute.String("campaign_live.service", r.Name),
		))
	headers := make([]kafka.Header, 0, len(m.Headers))
	for _, h := range m.Headers {
		if h.Key != event.HeaderTraceparent {
			headers = append(headers, h)
		}
	}
	if tp := telemetry.Traceparent(ctx); tp != "" {
		headers = append(headers, kafka.Header{Key: event.HeaderTraceparent, Value: []byte(tp)})
	}
	m.Headers = headers
	return m, span
}

// endPublish ends the spans of a batch with its outcome.
func endPublish(spans []trace.Span, err error) {
	var perMsg kafka.WriteErrors
	hasPer := errors.As(err, &perMsg) && len(perMsg) == len(spans)
	for i, span := range spans {
		e := err
		if hasPer {
			e = perMsg[i]
		}
		if e != nil {
			span.RecordError(e)
			span.SetStatus(codes.Error, "publish failed")
		}
		span.End()
	}
}

// RegisterMetrics reports the outbox's backlog and the age of its oldest
// row, read from Postgres at each scrape: a growing age means events are
// written but not published.
func RegisterMetrics(pool *pgxpool.Pool) error {
	m := otel.Meter(scope)
	backlog, err := m.Int64ObservableGauge("outbox_backlog", metric.WithDescription("Events written but not yet published."))
	if err != nil {
		return err
	}
	age, err := m.Float64ObservableGauge("outbox_oldest_age_seconds", metric.WithUnit("s"),
		metric.WithDescription("Age of the oldest unpublished event; 0 when the outbox is empty."))
	if err != nil {
		return err
	}
	_, err = m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		var (
			n   int64
			sec float64
		)
		if err := pool.QueryRow(ctx,
			`SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 FROM outbox`).Scan(&n, &sec); err != nil {
			return err
		}
		o.ObserveInt64(backlog, n)
		o.ObserveFloat64(age, sec)
		return nil
	}, backlog, age)
	return err
}
