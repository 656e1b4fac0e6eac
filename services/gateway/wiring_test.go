package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/campaign-live/campaign-live/pkg/app"
	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/cursor"
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
