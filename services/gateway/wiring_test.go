package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/campaign-live/campaign-live/pkg/app"
	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/pkg/telemetry"
	"github.com/campaign-live/campaign-live/pkg/testkit/slowloris"
	"github.com/campaign-live/campaign-live/services/gateway/internal/fanouttest"
)

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func status(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// TestWiring runs the whole gateway against a fake fanout: a signed-in
// browser watches a campaign, then the gateway drains as on SIGTERM.
func TestWiring(t *testing.T) {
	fan := fanouttest.Start(t)
	pos := cursor.Position{Epoch: 1, Partition: 0, Offset: 41}
	fan.SetCampaign(9, pos, fmt.Appendf(nil, `{"type":"campaign_data","data":{"id":9,"owner":{"id":1},"private":false},"cursor":%q}`, pos))

	cfg, err := loadConfig(app.NewEnvFrom(map[string]string{"FANOUT_ADDRS": fan.Addr()}))
	if err != nil {
		t.Fatal(err)
	}
	wsLn, opsLn := listen(t), listen(t)
	ctx, sigterm := context.WithCancel(context.Background())
	defer sigterm()
	served := make(chan error, 1)
	go func() { served <- serve(ctx, slog.New(slog.DiscardHandler), cfg, wsLn, opsLn, http.NotFoundHandler()) }()

	readyz := "http://" + opsLn.Addr().String() + "/readyz"
	fanouttest.Eventually(t, "/readyz 200", func() bool { return status(readyz) == http.StatusOK })

	tok, err := auth.Mint([]byte(cfg.JWTSecret), auth.User{ID: 3, Username: "ann"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	url := "ws://" + wsLn.Addr().String() + "/ws/campaign/9/?access_token=" + tok
	c, _, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {"http://localhost:8080"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second)) // a hang guard
	mustRead := func(want string) {
		t.Helper()
		_, b, err := c.ReadMessage()
		if err != nil || !strings.Contains(string(b), want) {
			t.Fatalf("read %q, %v; want %s", b, err, want)
		}
	}
	mustRead(`"type":"campaign_data"`)
	next := cursor.Position{Epoch: 1, Partition: 0, Offset: 42}
	fan.Push(9, next, fmt.Appendf(nil, `{"type":"comment","data":{"id":1},"cursor":%q,"event_id":"e1"}`, next))
	mustRead(`"cursor":"` + next.String() + `"`)
	if err := c.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	mustRead(`{"type":"pong"}`)

	// Hold our answer to the close frame, so the drain is still running
	// while /readyz is asked.
	closed := make(chan int, 1)
	c.SetCloseHandler(func(code int, _ string) error { closed <- code; return nil })
	sigterm()
	var ce *websocket.CloseError
	if _, _, err := c.ReadMessage(); !errors.As(err, &ce) || ce.Code != websocket.CloseServiceRestart {
		t.Fatalf("read %v, want close 1012", err)
	}
	if got := status(readyz); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz while draining = %d, want 503", got)
	}
	_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseServiceRestart, ""), time.Now().Add(time.Second))

	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(cfg.DrainTimeout + 5*time.Second):
		t.Fatal("serve did not return after the drain")
	}
	if _, _, err := websocket.DefaultDialer.Dial(url, nil); err == nil {
		t.Error("dial after the drain succeeded, want the listener closed")
	}
}

func TestRunRefusesInvalidConfigBeforeListening(t *testing.T) {
	ln := listen(t)
	defer ln.Close()
	err := run(context.Background(), slog.New(slog.DiscardHandler), app.NewEnvFrom(map[string]string{
		"SEND_QUEUE": "lots", "OPS_ADDR": ln.Addr().String(), // taken: must not even be tried
	}))
	if err == nil || !strings.Contains(err.Error(), "SEND_QUEUE") {
		t.Fatalf("run error %v, want one naming SEND_QUEUE", err)
	}
}

// gateway is a whole gateway started by a test, over a fake fanout.
type gateway struct {
	fan      *fanouttest.Server
	ws, ops  string // host:port
	jwt      string
	campaign int64
}

// startGateway runs serve with the environment env (FANOUT_ADDRS is set)
// until the test ends; campaign 9 exists, public, at offset 41.
func startGateway(t *testing.T, env map[string]string, metrics http.Handler) *gateway {
	t.Helper()
	fan := fanouttest.Start(t)
	pos := cursor.Position{Epoch: 1, Partition: 0, Offset: 41}
	fan.SetCampaign(9, pos, fmt.Appendf(nil, `{"type":"campaign_data","data":{"id":9,"owner":{"id":1},"private":false},"cursor":%q}`, pos))
	vars := map[string]string{"FANOUT_ADDRS": fan.Addr()}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := loadConfig(app.NewEnvFrom(vars))
	if err != nil {
		t.Fatal(err)
	}
	wsLn, opsLn := listen(t), listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serve(ctx, slog.New(slog.DiscardHandler), cfg, wsLn, opsLn, metrics) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	g := &gateway{fan: fan, ws: wsLn.Addr().String(), ops: opsLn.Addr().String(), jwt: cfg.JWTSecret, campaign: 9}
	fanouttest.Eventually(t, "/readyz 200", func() bool { return status("http://"+g.ops+"/readyz") == http.StatusOK })
	return g
}

// watch opens a socket on campaign 9 (query may be empty) and reads its
// first frame.
func (g *gateway) watch(t *testing.T, query string) (*websocket.Conn, string) {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws://"+g.ws+"/ws/campaign/9/?"+query, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, readFrame(t, c)
}

func readFrame(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second)) // a hang guard
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

// push sends an event of campaign 9 at offset off from the fake fanout.
func (g *gateway) push(off int64) cursor.Position {
	pos := cursor.Position{Epoch: 1, Partition: 0, Offset: off}
	g.fan.Push(9, pos, fmt.Appendf(nil, `{"type":"contribution","data":{"id":%d},"cursor":%q,"event_id":"e%d"}`, off, pos, off))
	return pos
}

// A handshake whose headers trickle in (slowloris) is cut after
// HANDSHAKE_TIMEOUT, while a watcher on the same gateway keeps receiving.
func TestSlowlorisHandshakeIsCut(t *testing.T) {
	g := startGateway(t, map[string]string{"HANDSHAKE_TIMEOUT": "500ms"}, http.NotFoundHandler())
	watcher, first := g.watch(t, "")
	if !strings.Contains(first, "campaign_data") {
		t.Fatalf("first frame %s, want campaign_data", first)
	}

	got := slowloris.Handshake(t, g.ws, "/ws/campaign/9/", 50*time.Millisecond, 30*time.Second)
	if strings.Contains(got, "101") {
		t.Fatalf("the trickling handshake was upgraded: %q", got)
	}

	pos := g.push(42)
	if f := readFrame(t, watcher); !strings.Contains(f, pos.String()) {
		t.Fatalf("watcher read %s, want the event at %s", f, pos)
	}
}

// processTelemetry installs the global providers once per process, as run
// does: pkg/limit's refusal counter is bound to the first meter provider
// installed, so a second Setup (go test -count=2) would serve a registry
// that never sees a refusal.
var processTelemetry = sync.OnceValues(func() (*telemetry.Telemetry, error) {
	return telemetry.Setup(context.Background(), "gateway", telemetry.Options{})
})

// scrape reads the Prometheus exposition at url into its samples by
// series, `name{labels}`.
func scrape(t *testing.T, url string) (map[string]float64, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	samples := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		series, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		samples[series] = v
	}
	return samples, string(b)
}

// TestMetricsExposed checks the names the dashboard and alerts are written
// against, as the Prometheus exposition on the ops port shows them. The
// counters are compared with a scrape before the sockets, since earlier
// runs in the process (-count) added to them.
func TestMetricsExposed(t *testing.T) {
	tel, err := processTelemetry()
	if err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, map[string]string{"WS_FRAME_RATE": "1/1h", "WS_FRAME_BURST": "1"}, tel.Metrics)
	metrics := "http://" + g.ops + "/metrics"
	before, _ := scrape(t, metrics)

	c, first := g.watch(t, "")
	cur := regexp.MustCompile(`"cursor":"([^"]+)"`).FindStringSubmatch(first)[1]
	g.push(42)
	readFrame(t, c)
	for _, want := range []string{`"pong"`, `"rate_limited"`} {
		if err := c.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)); err != nil {
			t.Fatal(err)
		}
		if f := readFrame(t, c); !strings.Contains(f, want) {
			t.Fatalf("reply %s, want %s", f, want)
		}
	}
	// The event at 42, then resumed: read both, so both are counted.
	resumed, _ := g.watch(t, "since="+cur)
	if f := readFrame(t, resumed); !strings.Contains(f, `"type":"resumed"`) {
		t.Fatalf("second frame of the resume %s, want resumed", f)
	}

	after, body := scrape(t, metrics)
	for _, want := range []struct {
		series string
		added  float64 // since before; gauges were 0 then
	}{
		{`gateway_sockets_open`, 2},
		{`gateway_send_queue_depth`, 0},
		{`gateway_messages_sent_total{type="campaign_data"}`, 1},
		{`gateway_messages_sent_total{type="contribution"}`, 2},
		{`gateway_messages_sent_total{type="pong"}`, 1},
		{`gateway_messages_sent_total{type="error"}`, 1},
		{`gateway_messages_sent_total{type="resumed"}`, 1},
		{`gateway_delivery_latency_seconds_bucket{le="10"}`, 1},
		{`gateway_delivery_latency_seconds_count`, 1},
		{`gateway_resumes_total{result="hit"}`, 1},
		{`gateway_resumes_total{result="miss"}`, 0},
		{`gateway_slow_client_closes_total`, 0},
		{`gateway_closes_total{code="1013"}`, 0},
		{`rate_limit_refusals_total{limit="ws_frames"}`, 1},
	} {
		got, ok := after[want.series]
		switch {
		case !ok:
			t.Errorf("/metrics has no series %s", want.series)
		case got-before[want.series] != want.added:
			t.Errorf("%s went from %v to %v, want +%v", want.series, before[want.series], got, want.added)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", regexp.MustCompile(`(?m)^(gateway_|rate_limit).*$`).FindAllString(body, -1))
	}
	if status("http://"+g.ops+"/debug/pprof/goroutine?debug=1") != http.StatusOK {
		t.Error("/debug/pprof/goroutine is not served on the ops port")
	}
}
