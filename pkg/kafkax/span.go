package kafkax

import (
	"context"
	"strconv"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/telemetry"
)

// StartProcessSpan starts the consumer span of a record ("TOPIC process",
// with the messaging conventions' attributes), a child of the producer
// span named by its traceparent header, so one trace runs from the HTTP
// request that wrote the event through Kafka into every consumer.
func StartProcessSpan(ctx context.Context, tracer trace.Tracer, group string, m kafka.Message) (context.Context, trace.Span) {
	for _, h := range m.Headers {
		if h.Key == event.HeaderTraceparent {
			ctx = telemetry.WithTraceparent(ctx, string(h.Value))
		}
	}
	return tracer.Start(ctx, m.Topic+" process",
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			semconv.MessagingSystemKafka,
			semconv.MessagingOperationTypeProcess,
			semconv.MessagingDestinationName(m.Topic),
			semconv.MessagingConsumerGroupName(group),
			semconv.MessagingDestinationPartitionID(strconv.Itoa(m.Partition)),
			semconv.MessagingKafkaOffset(int(m.Offset)),
		))
}

// EndProcessSpan ends a record's span; err, if any, is why the record was
// not applied.
func EndProcessSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "not applied")
	}
	span.End()
}
