package consumer

import (
	"context"
	"fmt"
	"testing"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
)

// traced installs a tracer provider exporting to memory, and the W3C
// propagator, for the test.
func traced(t *testing.T) *tracetest.InMemoryExporter {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		otel.SetTracerProvider(prevTP)
		otel.SetTextMapPropagator(prevProp)
	})
	return exp
}

// TestConsumerSpans: each record gets a consumer span that is a child of
// the producer span in its traceparent header, and the delivery pushed to
// the gateways carries the consumer span's own context.
func TestConsumerSpans(t *testing.T) {
	exp := traced(t)
	const (
		traceID  = "4bf92f3577b34da6a3ce929d0e0e4736"
		producer = "00f067aa0ba902b7"
	)
	good := record(t, 10, comment())
	good.Headers = []kafka.Header{{Key: event.HeaderTraceparent, Value: []byte("00-" + traceID + "-" + producer + "-01")}}
	bad := record(t, 11, nil)
	for _, m := range []*kafka.Message{&good, &bad} {
		m.Topic = "campaign-events"
	}

	j := &journal{}
	r := newReader(j, good, bad)
	hub := fakeHub{j: j, got: make(chan *campaignv1.Delivery, 1)}
	c := New(r, &fakeViews{j: j}, hub, Config{Epoch: 7, Group: "fanout", MaxBatch: 16}, quiet)
	runUntilFinished(t, c, r, j)
	d := <-hub.got

	spans := map[int64]tracetest.SpanStub{}
	for _, s := range exp.GetSpans() {
		for _, a := range s.Attributes {
			if a.Key == "messaging.kafka.offset" {
				spans[a.Value.AsInt64()] = s
			}
		}
	}
	if len(spans) != 2 {
		t.Fatalf("%d consumer spans ended (%v), want one per record", len(exp.GetSpans()), exp.GetSpans())
	}

	s := spans[10]
	if s.Name != "campaign-events process" || s.SpanKind != trace.SpanKindConsumer {
		t.Errorf("span %q of kind %v, want \"campaign-events process\" of kind consumer", s.Name, s.SpanKind)
	}
	if got := s.Parent; got.TraceID().String() != traceID || got.SpanID().String() != producer || !got.IsRemote() {
		t.Errorf("parent %s/%s (remote %v), want the header's %s/%s", got.TraceID(), got.SpanID(), got.IsRemote(), traceID, producer)
	}
	if s.SpanContext.TraceID().String() != traceID {
		t.Errorf("trace %s, want %s", s.SpanContext.TraceID(), traceID)
	}
	want := map[attribute.Key]string{
		"messaging.system":                   "kafka",
		"messaging.operation.type":           "process",
		"messaging.destination.name":         "campaign-events",
		"messaging.consumer.group.name":      "fanout",
		"messaging.destination.partition.id": "2",
		"messaging.kafka.offset":             "10",
	}
	for _, a := range s.Attributes {
		if w, ok := want[a.Key]; ok {
			if got := a.Value.Emit(); got != w {
				t.Errorf("%s = %q, want %q", a.Key, got, w)
			}
			delete(want, a.Key)
		}
	}
	if len(want) > 0 {
		t.Errorf("attributes missing: %v", want)
	}
	if s.Status.Code == codes.Error {
		t.Errorf("status %v, want not an error", s.Status)
	}
	wantTP := fmt.Sprintf("00-%s-%s-01", s.SpanContext.TraceID(), s.SpanContext.SpanID())
	if d.GetTraceparent() != wantTP {
		t.Errorf("delivery traceparent %q, want the consumer span's %q", d.GetTraceparent(), wantTP)
	}

	// The record that is not an event has its span too, ended as an error.
	if s := spans[11]; s.Status.Code != codes.Error || s.Parent.IsValid() {
		t.Errorf("undecodable record's span: status %v parent %v, want an error status and no parent", s.Status, s.Parent)
	}
}
