//go:build integration

package consumer_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/campaign-live/campaign-live/pkg/consumer"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/outbox"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/pkg/telemetry"
	"github.com/campaign-live/campaign-live/pkg/testkit"
)

// TestTraceCrossesKafka: a write made inside a request's span is published
// by the relay in a producer span that is the request's child, and consumed
// in a consumer span that is the producer's child: one trace id end to end.
func TestTraceCrossesKafka(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tel, err := telemetry.Setup(context.Background(), "test", telemetry.Options{SpanExporter: spans})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())

	pool, _ := testkit.DB(t, outbox.Migrations(), consumer.Migrations())
	brokers, topic := testkit.Topic(t, 1)
	writer := testkit.Writer(t, brokers, topic, 16)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	reqCtx, req := otel.Tracer("test").Start(ctx, "POST /api/campaigns/7/comments", trace.WithSpanKind(trace.SpanKindServer))
	e, _ := event.New("comment", 7, time.Now(), &campaignv1.Comment{Id: 1, CampaignId: 7, Content: "hi"})
	if err := outbox.Write(reqCtx, pool, func(pgx.Tx) ([]*campaignv1.Event, error) { return []*campaignv1.Event{e}, nil }); err != nil {
		t.Fatal(err)
	}
	req.End()

	relay := &outbox.Relay{Pool: pool, Publisher: writer, Name: "test", Topic: topic, Log: slog.New(slog.DiscardHandler), Poll: 50 * time.Millisecond}
	go func() { _ = relay.Run(ctx) }()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
	defer rcancel()
	m, err := r.ReadMessage(rctx)
	if err != nil {
		t.Fatal(err)
	}
	c := consumer.New(consumer.Config{Topic: topic, Group: "g", Pool: pool, Log: slog.New(slog.DiscardHandler),
		Handler: func(context.Context, pgx.Tx, *campaignv1.Event) error { return nil }})
	if err := c.Apply(ctx, m); err != nil {
		t.Fatal(err)
	}

	// The relay ends its producer span when the broker has acknowledged the
	// batch, which can be after the reader above already has the message.
	var server, producer, cons sdktrace.ReadOnlySpan
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		byKind := map[trace.SpanKind]sdktrace.ReadOnlySpan{}
		for _, s := range spans.GetSpans().Snapshots() {
			byKind[s.SpanKind()] = s
		}
		server, producer, cons = byKind[trace.SpanKindServer], byKind[trace.SpanKindProducer], byKind[trace.SpanKindConsumer]
		if server != nil && producer != nil && cons != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("spans by kind: %v; want a server, a producer and a consumer span", byKind)
		}
	}
	id := server.SpanContext().TraceID()
	if producer.SpanContext().TraceID() != id || cons.SpanContext().TraceID() != id {
		t.Fatalf("trace ids: request %s, producer %s, consumer %s; want one", id, producer.SpanContext().TraceID(), cons.SpanContext().TraceID())
	}
	if producer.Parent().SpanID() != server.SpanContext().SpanID() || cons.Parent().SpanID() != producer.SpanContext().SpanID() {
		t.Fatalf("parents: producer's %s (want the request's %s), consumer's %s (want the producer's %s)",
			producer.Parent().SpanID(), server.SpanContext().SpanID(), cons.Parent().SpanID(), producer.SpanContext().SpanID())
	}
}
