//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
)

// scrape returns the value of the first sample of metric on a service's
// ops port, failing if the metric is absent.
func scrape(t *testing.T, port int, metric string) float64 {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		t.Fatalf("scrape :%d: %v", port, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + metric + `(?:\{[^}]*\})? ([0-9.eE+-]+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatalf(":%d/metrics has no %s", port, metric)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// TestWritersExposeMetrics: after traffic, every writing service reports
// its outbox (drained, so backlog 0 and age 0) and its HTTP requests, and
// the services that consume report their lag.
func TestWritersExposeMetrics(t *testing.T) {
	owner := token(t, 6001, "mo")
	c := createCampaign(t, owner, "Metrics")
	waitLive(t, c.ID)
	call(t, "POST", fmt.Sprintf("/api/campaigns/%d/contributions", c.ID), owner, map[string]any{"amount": "1.00", "currency": "USD"}, nil)
	for name, port := range map[string]int{"content": 9101, "contribution": 9102, "comment": 9105, "milestone": 9106} {
		t.Run(name, func(t *testing.T) {
			if backlog := scrape(t, port, "outbox_backlog"); backlog < 0 {
				t.Errorf("outbox_backlog = %v", backlog)
			}
			if age := scrape(t, port, "outbox_oldest_age_seconds"); age < 0 || age > 60 {
				t.Errorf("outbox_oldest_age_seconds = %v, want a drained outbox", age)
			}
			if name != "content" {
				if lag := scrape(t, port, "kafka_consumer_lag"); lag < 0 {
					t.Errorf("kafka_consumer_lag = %v", lag)
				}
			}
		})
	}
	if n := scrape(t, 9101, "http_server_request_duration_seconds_count"); n < 1 {
		t.Errorf("content served %v requests by its metrics, want at least the campaign we created", n)
	}
}

// TestFanoutExposesMetrics: after a contribution reaches a watcher, fanout
// reports per-partition lag, what it applied, its batches and how long an
// event took from its write to the gateways.
func TestFanoutExposesMetrics(t *testing.T) {
	owner := token(t, 6002, "fm")
	c := createCampaign(t, owner, "Fanout metrics")
	waitLive(t, c.ID)
	applied := scrape(t, 9103, `fanout_events_applied_total\{type="contribution"\}`)
	w := watch(t, c.ID, "")
	if m := w.next(); m.Type != "campaign_data" {
		t.Fatalf("first message %q", m.Type)
	}
	call(t, "POST", fmt.Sprintf("/api/campaigns/%d/contributions", c.ID), owner, map[string]any{"amount": "1.00", "currency": "USD"}, nil)
	if m := w.next(); m.Type != "contribution" {
		t.Fatalf("message %q, want the contribution", m.Type)
	}
	if now := scrape(t, 9103, `fanout_events_applied_total\{type="contribution"\}`); now <= applied {
		t.Errorf("fanout_events_applied_total{type=contribution} %v → %v, want it to grow", applied, now)
	}
	if lag := scrape(t, 9103, `kafka_consumer_lag\{[^}]*partition="\d+"[^}]*\}`); lag < 0 {
		t.Errorf("kafka_consumer_lag per partition = %v", lag)
	}
	n, sum := scrape(t, 9103, "fanout_publish_latency_seconds_count"), scrape(t, 9103, "fanout_publish_latency_seconds_sum")
	if n < 1 || sum < 0 || sum/n > 60 {
		t.Errorf("fanout_publish_latency_seconds: count %v, mean %v s", n, sum/n)
	}
	if batches := scrape(t, 9103, "fanout_apply_batch_size_count"); batches < 1 {
		t.Errorf("fanout_apply_batch_size_count = %v", batches)
	}
}
