//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"

	"github.com/campaign-live/campaign-live/pkg/testkit"
)

// TestOneTracePerWrite follows one contribution from the REST request to
// the socket through real processes (content, contribution, fanout and
// gateway, started here on their own databases and topic) and collects what
// they export over OTLP in this test's memory. The gateway's send span must
// hang, hop by hop, from the contribution's HTTP server span:
//
//	contribution  HTTP server span (the root)
//	  … endpoint span, whose context is stored with the outbox row
//	contribution  "TOPIC publish" (producer, the relay)
//	fanout        "TOPIC process" (consumer)
//	gateway       "websocket send"
func TestOneTracePerWrite(t *testing.T) {
	sink := startOTLPSink(t)
	brokers, topic := testkit.Topic(t, 3)
	shared := map[string]string{
		"KAFKA_BROKERS":               strings.Join(brokers, ","),
		"KAFKA_TOPIC":                 topic,
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + sink.addr,
		"OTEL_EXPORTER_OTLP_INSECURE": "true",
		"OTEL_BSP_SCHEDULE_DELAY":     "50",
	}
	dbURL := func() string { _, u := testkit.DB(t); return u }
	content := startProcess(t, "content", shared, map[string]string{"DATABASE_URL": dbURL(), "KAFKA_GROUP": topic + "-content"})
	contribution := startProcess(t, "contribution", shared, map[string]string{"DATABASE_URL": dbURL(), "KAFKA_GROUP": topic + "-contribution"})
	fanoutGRPC := freeAddr(t)
	fanout := startProcess(t, "fanout", shared, map[string]string{"DATABASE_URL": dbURL(), "KAFKA_GROUP": topic + "-fanout", "GRPC_ADDR": fanoutGRPC})
	gateway := startProcess(t, "gateway", shared, map[string]string{"FANOUT_ADDRS": fanoutGRPC})

	owner := token(t, 8101, "tracer")
	var c campaign
	if status := postJSON(t, content.http+"/api/campaigns", owner,
		map[string]any{"title": "Traced", "description": "one trace per write", "goal_amount": "10.00", "currency": "USD"}, &c); status != http.StatusCreated {
		t.Fatalf("create campaign: status %d", status)
	}
	waitFor(t, "fanout to know the campaign", func() bool {
		resp, err := http.Get(fmt.Sprintf("%s/api/live/campaigns/%d", fanout.http, c.ID))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	conn, _, err := websocket.DefaultDialer.Dial(fmt.Sprintf("ws://%s/ws/campaign/%d/", strings.TrimPrefix(gateway.http, "http://"), c.ID),
		http.Header{"Origin": {origin}})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer conn.Close()
	w := &watcher{t: t, conn: conn}
	if m := w.next(); m.Type != "campaign_data" {
		t.Fatalf("first message %q, want campaign_data", m.Type)
	}
	if status := postJSON(t, fmt.Sprintf("%s/api/campaigns/%d/contributions", contribution.http, c.ID), token(t, 8102, "backer"),
		map[string]any{"amount": "3.00", "currency": "USD"}, nil); status != http.StatusCreated {
		t.Fatalf("contribute: status %d", status)
	}
	if m := w.next(); m.Type != "contribution" {
		t.Fatalf("message %q, want the contribution", m.Type)
	}

	// The send span is exported last, a moment after the frame went out.
	var chain []span
	waitFor(t, "the gateway's send span to reach the collector", func() bool {
		chain = sink.chainFrom("gateway", "websocket send")
		return chain != nil && chain[len(chain)-1].parent == ""
	})
	for i, s := range chain {
		t.Logf("hop %d: %-12s %-26s kind=%s span=%s parent=%s", i, s.service, s.name, s.kind, s.id, s.parent)
	}
	// Each hop the trace must cross, walking up from the gateway: a span of
	// that service with that name and kind somewhere above the previous one.
	want := []struct {
		service, name string
		kind          tracepb.Span_SpanKind
	}{
		{"gateway", "websocket send", tracepb.Span_SPAN_KIND_PRODUCER},
		{"fanout", topic + " process", tracepb.Span_SPAN_KIND_CONSUMER},
		{"contribution", topic + " publish", tracepb.Span_SPAN_KIND_PRODUCER},
		{"contribution", "", tracepb.Span_SPAN_KIND_SERVER},
	}
	at := 0
	for _, hop := range want {
		for at < len(chain) && !(chain[at].service == hop.service && chain[at].kind == hop.kind && (hop.name == "" || chain[at].name == hop.name)) {
			at++
		}
		if at == len(chain) {
			t.Fatalf("the trace above the gateway's send span has no %s span %q of kind %s", hop.service, hop.name, hop.kind)
		}
		at++
	}
	root := chain[len(chain)-1]
	if root.service != "contribution" || root.kind != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("the trace's root is %s %q (%s), want the contribution's HTTP server span", root.service, root.name, root.kind)
	}
	// The fanout's process span must be the direct child of the relay's
	// publish span, and the gateway's send span the direct child of the
	// fanout's: the context crossed Kafka's headers and the gRPC delivery.
	if chain[1].service != "fanout" || chain[2].name != topic+" publish" {
		t.Errorf("want gateway ← fanout ← publish as direct links, got %s ← %s ← %s", chain[0].service, chain[1].service, chain[2].name)
	}
}

// span is what the test keeps of an exported span.
type span struct {
	service, name, id, parent, trace string
	kind                             tracepb.Span_SpanKind
}

// otlpSink is an OTLP/gRPC trace collector that keeps spans in memory.
type otlpSink struct {
	coltracepb.UnimplementedTraceServiceServer
	addr  string
	mu    sync.Mutex
	spans map[string]span // by span id
}

func startOTLPSink(t *testing.T) *otlpSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &otlpSink{addr: ln.Addr().String(), spans: map[string]span{}}
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, s)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return s
}

func (s *otlpSink) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				id := hex.EncodeToString(sp.GetSpanId())
				s.spans[id] = span{service: service, name: sp.GetName(), id: id, kind: sp.GetKind(),
					parent: hex.EncodeToString(sp.GetParentSpanId()), trace: hex.EncodeToString(sp.GetTraceId())}
			}
		}
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// chainFrom returns the newest span of service named name and its
// ancestors up to the first one not (yet) exported, or nil.
func (s *otlpSink) chainFrom(service, name string) []span {
	s.mu.Lock()
	defer s.mu.Unlock()
	var chain []span
	for _, sp := range s.spans {
		if sp.service == service && sp.name == name {
			chain = []span{sp}
			break
		}
	}
	if chain == nil {
		return nil
	}
	for cur := chain[0]; cur.parent != ""; {
		p, ok := s.spans[cur.parent]
		if !ok || p.trace != cur.trace {
			break
		}
		chain = append(chain, p)
		cur = p
	}
	return chain
}

// proc is a service binary this test started.
type proc struct{ http string }

// startProcess runs bin/NAME on free loopback ports with the stack's
// environment plus shared and own, waits for /readyz and stops it (SIGTERM,
// so it flushes its spans) when the test ends. A port found free can be
// taken by another process before the service binds it: then it starts
// again on other ports.
func startProcess(t *testing.T, name string, shared, own map[string]string) proc {
	t.Helper()
	bin, err := filepath.Abs(filepath.Join("..", "..", "bin", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s is not built (make build): %v", bin, err)
	}
	for attempt := 1; ; attempt++ {
		p, taken := tryProcess(t, bin, name, shared, own, attempt == 3)
		if !taken {
			return p
		}
		t.Logf("%s: a port was taken before it bound it; starting it again", name)
	}
}

// tryProcess is one start of startProcess; taken reports that the
// service exited because a port was taken (fatal instead when last).
func tryProcess(t *testing.T, bin, name string, shared, own map[string]string, last bool) (p proc, taken bool) {
	t.Helper()
	httpAddr, opsAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "HTTP_ADDR="+httpAddr, "OPS_ADDR="+opsAddr, "LOG_LEVEL=warn")
	for _, env := range []map[string]string{shared, own} {
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	gone := false
	t.Cleanup(func() {
		if gone {
			return
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("%s's log:\n%s", name, lastLines(logs.String(), 30))
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + opsAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return proc{http: "http://" + httpAddr}, false
			}
		}
		select {
		case err := <-exited:
			gone = true
			if !last && strings.Contains(logs.String(), "address already in use") {
				return proc{}, true
			}
			t.Fatalf("%s exited before it was ready: %v\n%s", name, err, lastLines(logs.String(), 30))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 60 s\n%s", name, lastLines(logs.String(), 30))
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// postJSON posts body to url with a bearer token and decodes the answer
// into out (if not nil), returning the status.
func postJSON(t *testing.T, url, tok string, body, out any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("POST %s: decode: %v", url, err)
		}
	}
	return resp.StatusCode
}

// waitFor polls cond for up to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
