package ws

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/campaign-live/campaign-live/pkg/limit"
	"github.com/campaign-live/campaign-live/services/gateway/internal/hub"
)

const scope = "github.com/campaign-live/campaign-live/services/gateway/internal/ws"

// Refusals by the gateway's limits, in rate_limit_refusals_total{limit}.
var (
	refuseFrame   = limit.RefusalCounter("ws_frames")
	refuseConnect = limit.RefusalCounter("ws_connects_ip")
	refuseSockets = limit.RefusalCounter("ws_sockets_ip")
)

// sentTypes are the message types counted by gateway_messages_sent_total;
// anything else counts as "other", so a new event type cannot grow the
// label set without bound.
var sentTypes = [...]string{
	hub.TypeCampaignData, "contribution", "update", "comment", "release", "milestone",
	"resumed", "pong", "error", "other",
}

func sentIndex(typ string) int {
	switch typ {
	case hub.TypeCampaignData:
		return 0
	case "contribution":
		return 1
	case "update":
		return 2
	case "comment":
		return 3
	case "release":
		return 4
	case "milestone":
		return 5
	case "resumed":
		return 6
	case "pong":
		return 7
	case "error":
		return 8
	}
	return len(sentTypes) - 1
}

// latencyBuckets are gateway_delivery_latency_seconds' bounds.
var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// metrics are a Handler's instruments.
//
// A frame written to a socket is the hot path (W1: 2,000 sockets times
// hundreds of events a second), so it costs one atomic add (the count by
// type, read by an observable counter at each scrape) and, for one live
// event in latencySample per socket, a histogram record, with attribute
// sets built here once. The
// gauges are read at each scrape from the handler's own state, costing
// nothing per frame.
type metrics struct {
	sent    [len(sentTypes)]atomic.Int64
	latency metric.Float64Histogram
	slow    metric.Int64Counter
	closes  metric.Int64Counter
	resumes metric.Int64Counter
	closeBy map[int]metric.AddOption // the codes the gateway sends
	hit     metric.AddOption
	miss    metric.AddOption
	reg     metric.Registration
}

// newMetrics creates the instruments on the global meter provider;
// sockets and queued are read at each scrape.
func newMetrics(sockets func() (open, queued int64)) (*metrics, error) {
	meter := otel.Meter(scope)
	m := &metrics{
		closeBy: make(map[int]metric.AddOption),
		hit:     metric.WithAttributeSet(attribute.NewSet(attribute.String("result", "hit"))),
		miss:    metric.WithAttributeSet(attribute.NewSet(attribute.String("result", "miss"))),
	}
	for _, code := range []int{
		websocket.ClosePolicyViolation, websocket.CloseMessageTooBig, websocket.CloseInternalServerErr,
		websocket.CloseServiceRestart, websocket.CloseTryAgainLater, CloseBadToken, CloseForbidden, CloseNoSuchCampaign,
	} {
		m.closeBy[code] = closeAttr(code)
	}
	var err1, err2, err3, err4, err5, err6, err7 error
	m.latency, err1 = meter.Float64Histogram("gateway_delivery_latency",
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(latencyBuckets...),
		metric.WithDescription("From an event's write (occurred_at) to its frame written to a socket, for live deliveries: each socket's first and then every eighth."))
	m.slow, err2 = meter.Int64Counter("gateway_slow_client_closes",
		metric.WithDescription("Sockets closed 1013 because their send queue was full."))
	m.closes, err3 = meter.Int64Counter("gateway_closes",
		metric.WithDescription("Closes the gateway initiated, by close code."))
	m.resumes, err4 = meter.Int64Counter("gateway_resumes",
		metric.WithDescription("Connections with a since= cursor: hit (replayed and resumed) or miss (a fresh campaign_data)."))
	sent, err5 := meter.Int64ObservableCounter("gateway_messages_sent",
		metric.WithDescription("Frames written to sockets, by message type."))
	open, err6 := meter.Int64ObservableGauge("gateway_sockets_open",
		metric.WithDescription("Open WebSocket connections."))
	queued, err7 := meter.Int64ObservableGauge("gateway_send_queue_depth",
		metric.WithDescription("Frames queued to be written, across all sockets."))
	if err := errors.Join(err1, err2, err3, err4, err5, err6, err7); err != nil {
		return nil, fmt.Errorf("gateway metrics: %w", err)
	}
	// Series that start at 0 rather than appear with their first event, so
	// that rates and alerts on them work from the start.
	ctx := context.Background()
	m.slow.Add(ctx, 0)
	m.resumes.Add(ctx, 0, m.hit)
	m.resumes.Add(ctx, 0, m.miss)
	for _, opt := range m.closeBy {
		m.closes.Add(ctx, 0, opt)
	}
	byType := make([]metric.ObserveOption, len(sentTypes))
	for i, t := range sentTypes {
		byType[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String("type", t)))
	}
	var err error
	m.reg, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for i := range m.sent {
			o.ObserveInt64(sent, m.sent[i].Load(), byType[i])
		}
		n, q := sockets()
		o.ObserveInt64(open, n)
		o.ObserveInt64(queued, q)
		return nil
	}, sent, open, queued)
	return m, err
}

func closeAttr(code int) metric.AddOption {
	return metric.WithAttributeSet(attribute.NewSet(attribute.String("code", strconv.Itoa(code))))
}

// latencySample is how many live frames per socket share one latency
// record: a histogram record per frame was a quarter of the gateway's CPU
// in W1 (the SDK's lock, shared by every socket's writer), and a socket's
// every eighth frame is as good a sample of its delay as all of them.
const latencySample = 8

// wrote counts a frame written to a socket. at is when its batch is being
// written; sample says the frame's latency is recorded.
func (m *metrics) wrote(f *hub.Frame, at time.Time, sample bool) {
	m.sent[sentIndex(f.Type)].Add(1)
	if sample {
		m.latency.Record(context.Background(), float64(at.UnixNano()-f.OccurredAt)/1e9)
	}
}

// closing counts a close the gateway initiates (code 0 is the client's).
func (m *metrics) closing(code int) {
	if code == 0 {
		return
	}
	opt, ok := m.closeBy[code]
	if !ok {
		opt = closeAttr(code)
	}
	m.closes.Add(context.Background(), 1, opt)
}

func (m *metrics) slowClient() { m.slow.Add(context.Background(), 1) }

func (m *metrics) resumed(hit bool) {
	if hit {
		m.resumes.Add(context.Background(), 1, m.hit)
	} else {
		m.resumes.Add(context.Background(), 1, m.miss)
	}
}

func (m *metrics) close() {
	if m.reg != nil {
		_ = m.reg.Unregister()
	}
}
