package ws

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/campaign-live/campaign-live/services/gateway/internal/fanouttest"
	"github.com/campaign-live/campaign-live/services/gateway/internal/hub"
)

// testMetrics reads what every handler of this package's tests records: a
// real SDK, so tests and benchmarks pay what production pays. Counters add
// up across tests; a test compares before and after.
var testMetrics = sdkmetric.NewManualReader()

func TestMain(m *testing.M) {
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(testMetrics)))
	os.Exit(m.Run())
}

// metricValue returns the sum over the data points of the named metric
// whose attributes include attrs; a histogram counts its observations.
func metricValue(t *testing.T, name string, attrs ...attribute.KeyValue) float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := testMetrics.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	has := func(set attribute.Set) bool {
		for _, kv := range attrs {
			if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
				return false
			}
		}
		return true
	}
	var sum float64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					if has(p.Attributes) {
						sum += float64(p.Value)
					}
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					if has(p.Attributes) {
						sum += float64(p.Value)
					}
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					if has(p.Attributes) {
						sum += float64(p.Count)
					}
				}
			default:
				t.Fatalf("%s is a %T", name, m.Data)
			}
		}
	}
	return sum
}

func TestSentTypesIndexThemselves(t *testing.T) {
	for i, typ := range sentTypes {
		if got := sentIndex(typ); got != i {
			t.Errorf("sentIndex(%q) = %d, want %d", typ, got, i)
		}
	}
	if got := sentIndex("campaign"); sentTypes[got] != "other" {
		t.Errorf("an unknown type counts as %q, want other", sentTypes[got])
	}
}

// TestMetricsCountWhatSocketsSee: open sockets, frames written by type,
// latency per live event written, resume misses and the closes the
// gateway sends.
func TestMetricsCountWhatSocketsSee(t *testing.T) {
	typ := func(s string) attribute.KeyValue { return attribute.String("type", s) }
	sent0 := metricValue(t, "gateway_messages_sent", typ("contribution"))
	data0 := metricValue(t, "gateway_messages_sent", typ("campaign_data"))
	lat0 := metricValue(t, "gateway_delivery_latency")
	miss0 := metricValue(t, "gateway_resumes", attribute.String("result", "miss"))
	forbidden0 := metricValue(t, "gateway_closes", attribute.String("code", "4403"))

	s := newStack(t, options{})
	s.fan.SetCampaign(1, at(10), dataFrame(1, at(10)))
	s.fan.SetCampaign(2, at(10), privateFrame(2, 7, at(10)))
	a := s.dial(t, "/ws/campaign/1/", nil)
	b := s.dial(t, "/ws/campaign/1/?since=not-a-cursor", nil)
	expect(t, a, "campaign_data", at(10))
	expect(t, b, "campaign_data", at(10))
	if got := metricValue(t, "gateway_sockets_open"); got != 2 {
		t.Errorf("gateway_sockets_open = %v, want 2", got)
	}
	if got := metricValue(t, "gateway_send_queue_depth"); got != 0 {
		t.Errorf("gateway_send_queue_depth = %v with nothing queued, want 0", got)
	}
	s.push(t, 1, at(11))
	expect(t, a, "contribution", at(11))
	expect(t, b, "contribution", at(11))
	expectClose(t, s.dial(t, "/ws/campaign/2/", nil), CloseForbidden)

	// A frame is counted before its write, so the counts hold once the
	// frames are read; the wait only spares the test a scrape's timing.
	fanouttest.Eventually(t, "2 contributions and 2 campaign_data counted", func() bool {
		return metricValue(t, "gateway_messages_sent", typ("contribution"))-sent0 == 2 &&
			metricValue(t, "gateway_messages_sent", typ("campaign_data"))-data0 == 2
	})
	if got := metricValue(t, "gateway_delivery_latency") - lat0; got != 2 {
		t.Errorf("latency observations: %v, want 2 (one per socket)", got)
	}
	if got := metricValue(t, "gateway_resumes", attribute.String("result", "miss")) - miss0; got != 1 {
		t.Errorf("resume misses: %v, want 1", got)
	}
	if got := metricValue(t, "gateway_closes", attribute.String("code", "4403")) - forbidden0; got != 1 {
		t.Errorf("4403 closes: %v, want 1", got)
	}
}

// TestMetricsCountRefusals: frames over the rate and the abuse close.
func TestMetricsCountRefusals(t *testing.T) {
	refused0 := metricValue(t, "rate_limit_refusals_total", attribute.String("limit", "ws_frames"))
	policy0 := metricValue(t, "gateway_closes", attribute.String("code", "1008"))
	s := newStack(t, options{cfg: func(c *Config) {
		c.FrameRate, c.FrameBurst = perHour(1), 1
		c.RefusedFrames = perHour(2)
	}})
	s.fan.SetCampaign(1, at(10), dataFrame(1, at(10)))
	c := s.dial(t, "/ws/campaign/1/", nil)
	expect(t, c, "campaign_data", at(10))
	for range 4 { // a pong, two refusals answered, the third closes
		send(t, c, `{"type":"ping"}`)
	}
	expectClose(t, c, websocket.ClosePolicyViolation)
	if got := metricValue(t, "rate_limit_refusals_total", attribute.String("limit", "ws_frames")) - refused0; got != 3 {
		t.Errorf("ws_frames refusals: %v, want 3", got)
	}
	if got := metricValue(t, "gateway_closes", attribute.String("code", "1008")) - policy0; got != 1 {
		t.Errorf("1008 closes: %v, want 1", got)
	}
}

// BenchmarkMetricsWrote is the metrics' share of a socket write: a live
// event's count by type and, for one in latencySample, its latency record,
// into the real SDK, from as many writers as there are cores.
func BenchmarkMetricsWrote(b *testing.B) {
	m, err := newMetrics(func() (int64, int64) { return 0, 0 })
	if err != nil {
		b.Fatal(err)
	}
	defer m.close()
	f := &hub.Frame{Kind: hub.Event, Type: "contribution", OccurredAt: time.Now().UnixNano()}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var tick int
		for pb.Next() {
			m.wrote(f, time.Now(), tick == 0)
			tick = (tick + 1) % latencySample
		}
	})
}
