package hub

import (
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
)

// countingSub takes every frame and drops it: what remains is the hub's own
// cost of one delivery (one Frame, one PreparedMessage, a loop over the
// room).
type countingSub struct{ n atomic.Int64 }

func (c *countingSub) Deliver(*Frame) { c.n.Add(1) }

// queueSub is a socket's side of Deliver as ws.conn does it: a
// non-blocking send into a bounded queue that its writer drains.
type queueSub struct{ q chan *Frame }

func (s *queueSub) Deliver(f *Frame) {
	select {
	case s.q <- f:
	default:
	}
}

var benchFrame = []byte(`{"type":"contribution","data":{"id":7,"campaign":1,"user":{"id":3,"username":"ada"},"amount":"25.50","currency":"USD","created_at":"2026-11-25T12:30:45.123456Z"},"cursor":"0000000100030000000000000009","event_id":"0193a0c2-7d3e-7cc0-8f3e-0a1b2c3d4e5f"}`)

func benchDelivery(offset int64) *campaignv1.Delivery {
	return &campaignv1.Delivery{
		CampaignId: 1,
		Position:   cursor.Position{Epoch: 1, Partition: 3, Offset: offset}.PB(),
		Frame:      benchFrame,
	}
}

// BenchmarkDeliver is one delivery handed to every subscriber of a room:
// the gateway's per-event cost before any socket write.
func BenchmarkDeliver(b *testing.B) {
	for _, n := range []int{1, 100, 2000, 10000} {
		b.Run(fmt.Sprintf("subs=%d/count", n), func(b *testing.B) {
			h := New(nil, slog.New(slog.DiscardHandler))
			subs := make([]*countingSub, n)
			for i := range subs {
				subs[i] = &countingSub{}
				h.Attach(1, subs[i])
			}
			b.ReportAllocs()
			var off int64
			for b.Loop() {
				off++
				h.Deliver(0, benchDelivery(off))
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "offers/s")
		})
		b.Run(fmt.Sprintf("subs=%d/queue", n), func(b *testing.B) {
			h := New(nil, slog.New(slog.DiscardHandler))
			attachDrained(b, h, n)
			b.ReportAllocs()
			var off int64
			for b.Loop() {
				off++
				h.Deliver(0, benchDelivery(off))
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "offers/s")
		})
	}
}

// BenchmarkDeliverSpread is W2's shape: many rooms, a few sockets each, a
// delivery to one room at a time.
func BenchmarkDeliverSpread(b *testing.B) {
	const rooms, per = 500, 10
	h := New(nil, slog.New(slog.DiscardHandler))
	for r := range int64(rooms) {
		for range per {
			h.Attach(r+1, &countingSub{})
		}
	}
	ds := make([]*campaignv1.Delivery, rooms)
	b.ReportAllocs()
	var off int64
	for b.Loop() {
		off++
		i := off % rooms
		if ds[i] == nil {
			ds[i] = benchDelivery(0)
			ds[i].CampaignId = i + 1
		}
		ds[i].Position = cursor.Position{Epoch: 1, Partition: 3, Offset: off}.PB()
		h.Deliver(0, ds[i])
	}
}

// BenchmarkDeliverTraced is BenchmarkDeliver's queue case with the SDK's
// tracer installed, as in production: the one "websocket send" span per
// delivery, with a parent from the delivery's traceparent.
func BenchmarkDeliverTraced(b *testing.B) {
	otel.SetTracerProvider(sdktrace.NewTracerProvider())
	otel.SetTextMapPropagator(propagation.TraceContext{})
	b.Cleanup(func() {
		otel.SetTracerProvider(noop.NewTracerProvider())
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
	})
	for _, n := range []int{1, 2000} {
		b.Run(fmt.Sprintf("subs=%d/queue", n), func(b *testing.B) {
			h := New(nil, slog.New(slog.DiscardHandler))
			attachDrained(b, h, n)
			b.ReportAllocs()
			var off int64
			for b.Loop() {
				off++
				d := benchDelivery(off)
				d.Traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
				h.Deliver(0, d)
			}
		})
	}
}

// attachDrained attaches n subscribers to campaign 1 whose queues a
// goroutine each drains, as sockets' writers would, until b ends.
func attachDrained(b *testing.B, h *Hub, n int) {
	stop := make(chan struct{})
	b.Cleanup(func() { close(stop) })
	for range n {
		s := &queueSub{q: make(chan *Frame, 256)}
		h.Attach(1, s)
		go func() {
			for {
				select {
				case <-s.q:
				case <-stop:
					return
				}
			}
		}()
	}
}
