package ws

import (
	"bytes"
	"context"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/campaign-live/campaign-live/services/gateway/internal/fanoutlink"
	"github.com/campaign-live/campaign-live/services/gateway/internal/fanouttest"
)

// writers counts the goroutines running a socket's writer.
func writers(t *testing.T) int {
	t.Helper()
	var b bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&b, 2); err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b.Bytes(), []byte("ws.(*conn).writeLoop("))
}

// idle waits until no socket has a writer: they sent what they had.
func idle(t *testing.T) {
	t.Helper()
	fanouttest.Eventually(t, "no writer left on idle sockets", func() bool { return writers(t) == 0 })
}

// idleSocket is a socket on campaign 1 that has sent its campaign_data and
// has no writer left.
func idleSocket(t *testing.T) (*stack, *websocket.Conn) {
	s := newWatched(t, options{})
	c := s.watch(t)
	idle(t)
	return s, c
}

// An idle socket keeps no writer goroutine (its stack was most of an idle
// socket's memory); a frame for it starts one, which delivers it in order
// with what follows and is gone again.
func TestIdleSocketHasNoWriterAndStillGetsFrames(t *testing.T) {
	s := newWatched(t, options{})
	a, b := s.watch(t), s.watch(t)
	idle(t)

	for round := range 3 {
		first := int64(11 + 5*round)
		for o := first; o < first+5; o++ {
			s.push(t, 1, at(o))
		}
		for _, c := range []*websocket.Conn{a, b} {
			for o := first; o < first+5; o++ {
				expect(t, c, "contribution", at(o))
			}
		}
		idle(t)
	}
}

// The reply to a message from an idle socket's client gets a writer too.
func TestIdleSocketAnswers(t *testing.T) {
	c := newWatched(t, options{}).watch(t)
	for range 2 {
		idle(t)
		send(t, c, `{"type":"ping"}`)
		if m := read(t, c); m.Type != "pong" {
			t.Fatalf("got %+v, want pong", m)
		}
	}
}

// Keepalive pings go out while the socket has no writer, and a client that
// answers them stays.
func TestIdleSocketIsPinged(t *testing.T) {
	s := newWatched(t, options{cfg: func(c *Config) { c.PongWait = 300 * time.Millisecond }})
	c := s.dial(t, "/ws/campaign/1/", nil)
	pings := answerPings(c)
	expect(t, c, "campaign_data", at(10))
	idle(t)
	got := make(chan []byte, 16)
	go func() { // reads, so the pings are answered
		defer close(got)
		for {
			_, b, err := c.ReadMessage()
			if err != nil {
				return
			}
			got <- b
		}
	}()
	for range 4 { // over a pong wait: the answers keep it open
		<-pings
	}
	s.push(t, 1, at(11))
	if b, want := <-got, eventFrame(1, at(11)); !bytes.Equal(b, want) {
		t.Fatalf("after the pings the socket sent %q, want %q", b, want)
	}
}

// A socket closed while idle, by the server or by its client, closes with
// the right code and lets go of its room, its interest and the drain.
func TestCloseWhileIdle(t *testing.T) {
	t.Run("drain", func(t *testing.T) {
		s, c := idleSocket(t)
		s.drain(t, c)
		fanouttest.Eventually(t, "the interest released", func() bool { return s.fan.Interested(1) == 0 })
	})
	t.Run("client", func(t *testing.T) {
		s, c := idleSocket(t)
		s.closeByClient(t, c)
	})
	t.Run("binary message", func(t *testing.T) {
		s, c := idleSocket(t)
		if err := c.WriteMessage(websocket.BinaryMessage, []byte{1}); err != nil {
			t.Fatal(err)
		}
		expectClose(t, c, websocket.ClosePolicyViolation)
		fanouttest.Eventually(t, "the socket gone", func() bool { return s.h.Sockets() == 0 })
	})
}

// A close reason ends a wait of the join at once: a drain does not wait
// out the subscribe timeout of a socket still joining.
func TestDrainEndsAJoinsWait(t *testing.T) {
	s := newStack(t, options{link: func(o *fanoutlink.Options) { o.SubscribeTimeout = time.Hour }})
	s.fan.SetCampaign(1, at(10), dataFrame(1, at(10)))
	s.fan.HoldAcks(true)
	c := s.dial(t, "/ws/campaign/1/", nil)
	fanouttest.Eventually(t, "the socket joining", func() bool { return s.h.Sockets() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	go s.h.Drain(ctx)
	expectClose(t, c, websocket.CloseServiceRestart)
}
