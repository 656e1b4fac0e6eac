//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// gatewayOps is the gateway's ops port.
const gatewayOps = 9104

// TestGatewayExposesMetrics: after a watcher receives a contribution, the
// gateway's /metrics counts the open socket, the frame by type and its
// delivery latency; a since= reconnect counts a resume hit.
func TestGatewayExposesMetrics(t *testing.T) {
	const (
		contributions = `gateway_messages_sent_total\{type="contribution"\}`
		latencyCount  = `gateway_delivery_latency_seconds_count`
		latencySum    = `gateway_delivery_latency_seconds_sum`
		hits          = `gateway_resumes_total\{result="hit"\}`
	)
	owner := token(t, 6101, "gm")
	backer := token(t, 6102, "gb")
	c := createCampaign(t, owner, "Gateway metrics")
	waitLive(t, c.ID)
	sent0, count0, sum0 := scrape(t, gatewayOps, contributions), scrape(t, gatewayOps, latencyCount), scrape(t, gatewayOps, latencySum)

	w := watch(t, c.ID, "")
	if m := w.next(); m.Type != "campaign_data" {
		t.Fatalf("first message %q, want campaign_data", m.Type)
	}
	if status := call(t, "POST", fmt.Sprintf("/api/campaigns/%d/contributions", c.ID), backer,
		map[string]any{"amount": "5.00", "currency": "USD"}, nil); status != http.StatusCreated {
		t.Fatalf("post contribution: %d", status)
	}
	m := w.next()
	if m.Type != "contribution" {
		t.Fatalf("got %q, want the contribution", m.Type)
	}

	if open := scrape(t, gatewayOps, "gateway_sockets_open"); open < 1 {
		t.Errorf("gateway_sockets_open = %v with a watcher open, want at least 1", open)
	}
	if sent := scrape(t, gatewayOps, contributions); sent <= sent0 {
		t.Errorf("contribution frames sent: %v, was %v; want it grown", sent, sent0)
	}
	count, sum := scrape(t, gatewayOps, latencyCount), scrape(t, gatewayOps, latencySum)
	if count <= count0 {
		t.Errorf("delivery latency observations: %v, was %v; want it grown", count, count0)
	} else if mean := (sum - sum0) / (count - count0); mean < 0 || mean > 60 {
		t.Errorf("mean delivery latency since the test began %v s, want between 0 and 60", mean)
	}

	// Reconnect from the contribution's cursor after missing one more.
	hit0 := scrape(t, gatewayOps, hits)
	w.conn.Close()
	call(t, "POST", fmt.Sprintf("/api/campaigns/%d/contributions", c.ID), backer, map[string]any{"amount": "6.00", "currency": "USD"}, nil)
	waitCount(t, c.ID, 2)
	again := watch(t, c.ID, "since="+url.QueryEscape(m.Cursor))
	if m := again.next(); m.Type != "contribution" {
		t.Fatalf("after since=: %q, want the missed contribution", m.Type)
	}
	if m := again.next(); m.Type != "resumed" {
		t.Fatalf("after the replay: %q, want resumed", m.Type)
	}
	if hit := scrape(t, gatewayOps, hits); hit <= hit0 {
		t.Errorf(`gateway_resumes_total{result="hit"} = %v, was %v; want it grown`, hit, hit0)
	}
}
