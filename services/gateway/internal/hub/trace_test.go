package hub

import (
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// TestDeliverTracesOneSendPerDelivery: each delivery is one "websocket
// send" producer span, a child of fanout's span named by the delivery's
// traceparent, ended once the frame is queued to every local socket.
func TestDeliverTracesOneSendPerDelivery(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans)))
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() {
		otel.SetTracerProvider(noop.NewTracerProvider())
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
	})

	h := New(nil, slog.New(slog.DiscardHandler))
	subs := []*sink{{}, {}, {}}
	for _, s := range subs {
		h.Attach(42, s)
	}
	const traceID, fanoutSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	d := delivery(42, 7)
	d.EventType, d.EventId = "contribution", "0193a0c2-7d3e-7cc0-8f3e-0a1b2c3d4e5f"
	d.Traceparent = "00-" + traceID + "-" + fanoutSpan + "-01"
	h.Deliver(0, d)

	got := spans.GetSpans()
	if len(got) != 1 {
		t.Fatalf("%d spans for one delivery to 3 sockets, want 1", len(got))
	}
	s := got[0]
	if s.Name != "websocket send" || s.SpanKind != trace.SpanKindProducer {
		t.Errorf("span %q of kind %v, want websocket send, producer", s.Name, s.SpanKind)
	}
	if p := s.Parent; !p.IsRemote() || p.TraceID().String() != traceID || p.SpanID().String() != fanoutSpan {
		t.Errorf("parent %v (remote %v), want fanout's span %s in trace %s", p.SpanID(), p.IsRemote(), fanoutSpan, traceID)
	}
	if s.SpanContext.TraceID().String() != traceID {
		t.Errorf("trace %s, want %s", s.SpanContext.TraceID(), traceID)
	}
	want := map[attribute.Key]attribute.Value{
		"campaign.id":          attribute.Int64Value(42),
		"event.type":           attribute.StringValue("contribution"),
		"messaging.message.id": attribute.StringValue(d.EventId),
		"websocket.sockets":    attribute.IntValue(3),
	}
	for _, kv := range s.Attributes {
		if w, ok := want[kv.Key]; ok {
			if kv.Value != w {
				t.Errorf("%s = %v, want %v", kv.Key, kv.Value.Emit(), w.Emit())
			}
			delete(want, kv.Key)
		}
	}
	for k := range want {
		t.Errorf("no attribute %s", k)
	}
	for i, sub := range subs {
		if len(sub.got) != 1 {
			t.Errorf("socket %d was offered %d frames, want 1", i, len(sub.got))
		}
	}

	// Without a traceparent the span is a root of its own.
	spans.Reset()
	h.Deliver(0, delivery(42, 8))
	if got := spans.GetSpans(); len(got) != 1 || got[0].Parent.IsValid() {
		t.Errorf("spans %v, want one root span", got)
	}
}
