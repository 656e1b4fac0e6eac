package hub

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const scope = "github.com/campaign-live/campaign-live/services/fanout/internal/hub"

// QueueDepths calls f with each open stream's gateway address and the
// messages queued on it and not yet handed to gRPC.
func (h *Hub) QueueDepths(f func(gateway string, depth int64)) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.streams {
		select {
		case <-s.done:
		default:
			f(s.peer, s.pending.Load())
		}
	}
}

// RegisterMetrics reports fanout_gateway_queue_depth{gateway} at each
// collection of the global meter provider: one series per open Watch
// stream, labelled with its gateway's address. The returned function stops
// it.
func (h *Hub) RegisterMetrics() (func(), error) {
	m := otel.Meter(scope)
	depth, err := m.Int64ObservableGauge("fanout_gateway_queue_depth",
		metric.WithDescription("Messages queued to a gateway's Watch stream and not yet sent."))
	if err != nil {
		return nil, fmt.Errorf("fanout_gateway_queue_depth: %w", err)
	}
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		h.QueueDepths(func(gateway string, n int64) {
			o.ObserveInt64(depth, n, metric.WithAttributes(attribute.String("gateway", gateway)))
		})
		return nil
	}, depth)
	if err != nil {
		return nil, fmt.Errorf("fanout_gateway_queue_depth: %w", err)
	}
	return func() { _ = reg.Unregister() }, nil
}
