package ws

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/services/gateway/internal/fanoutlink"
	"github.com/campaign-live/campaign-live/services/gateway/internal/fanouttest"
	"github.com/campaign-live/campaign-live/services/gateway/internal/hub"
)

// benchStack is the gateway's socket side over a fake fanout, for
// benchmarks (newStack needs a *testing.T).
func benchStack(b *testing.B) (*hub.Hub, *fanouttest.Server, string) {
	b.Helper()
	log := slog.New(slog.DiscardHandler)
	fan := fanouttest.Start(b)
	link, err := fanoutlink.New([]string{fan.Addr()}, log, fanoutlink.Options{})
	if err != nil {
		b.Fatal(err)
	}
	rooms := hub.New(link, log)
	v, err := auth.NewHS256([]byte(secret))
	if err != nil {
		b.Fatal(err)
	}
	h, err := NewHandler(Config{WriteTimeout: 10 * time.Second, PongWait: time.Minute, ReadLimit: 4096, SendQueue: 256},
		rooms, link, v, log, nil)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = link.Run(ctx, rooms) }()
	b.Cleanup(func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer dcancel()
		h.Drain(dctx)
		srv.Close()
		h.Close()
		cancel()
		<-done
		_ = link.Close()
	})
	for deadline := time.Now().Add(5 * time.Second); link.Up() != 1; {
		if time.Now().After(deadline) {
			b.Fatal("fanout stream never came up")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return rooms, fan, "ws" + strings.TrimPrefix(srv.URL, "http")
}

// BenchmarkFanOutSockets is W1 inside one process: one campaign, n real
// WebSocket clients over loopback, each delivery written to every socket
// (one PreparedMessage, one writer goroutine per socket). It keeps up to
// 32 deliveries in flight, so socket queues (256) never overflow. The
// clients' reads share the CPU, as the load tool's do in W1.
func BenchmarkFanOutSockets(b *testing.B) {
	for _, n := range []int{100, 2000} {
		b.Run(fmt.Sprintf("sockets=%d", n), func(b *testing.B) {
			rooms, fan, base := benchStack(b)
			fan.SetCampaign(1, at(0), dataFrame(1, at(0)))
			var got atomic.Int64
			d := &websocket.Dialer{ReadBufferSize: 2048, WriteBufferSize: 512}
			conns := make([]*websocket.Conn, 0, n)
			b.Cleanup(func() {
				for _, c := range conns {
					_ = c.Close()
				}
			})
			for range n {
				c, _, err := d.Dial(base+"/ws/campaign/1/", nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := c.ReadMessage(); err != nil { // campaign_data
					b.Fatal(err)
				}
				conns = append(conns, c)
				go func() {
					for {
						_, r, err := c.NextReader()
						if err != nil {
							return
						}
						_, _ = io.Copy(io.Discard, r)
						got.Add(1)
					}
				}()
			}
			for rooms.Watchers(1) != n {
				time.Sleep(time.Millisecond)
			}
			const window = 32
			wait := func(want int64) {
				deadline := time.Now().Add(30 * time.Second)
				for got.Load() < want {
					if time.Now().After(deadline) {
						b.Fatalf("delivered %d of %d frames", got.Load(), want)
					}
					time.Sleep(50 * time.Microsecond)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			var off int64
			for b.Loop() {
				off++
				if off > window {
					wait((off - window) * int64(n))
				}
				rooms.Deliver(0, &campaignv1.Delivery{CampaignId: 1, Position: at(off).PB(), Frame: frameAt(off)})
			}
			wait(off * int64(n))
			b.ReportMetric(float64(off)*float64(n)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

func frameAt(off int64) []byte {
	return fmt.Appendf(nil, `{"type":"contribution","data":{"id":%d,"campaign":1,"user":{"id":3,"username":"ada"},"amount":"25.50","currency":"USD","created_at":"2026-11-25T12:30:45.123456Z"},"cursor":%q,"event_id":"0193a0c2-7d3e-7cc0-8f3e-0a1b2c3d4e5f"}`, off, at(off))
}

// BenchmarkSocketWrites is the evidence for coalescing writes: n sockets
// each get k frames queued at once (W1's closed loop keeps several events
// in flight, so a socket's queue often holds more than one), written by one
// goroutine per socket either as today, one WritePreparedMessage (one
// write syscall) per frame, or as one write of the k frames' bytes, which
// are the same for every socket and built once. The clients read in the
// same process.
func BenchmarkSocketWrites(b *testing.B) {
	const n = 500
	for _, k := range []int{1, 8} {
		for _, mode := range []string{"prepared", "coalesced"} {
			b.Run(fmt.Sprintf("frames=%d/%s", k, mode), func(b *testing.B) {
				server, got := socketPairs(b, n)
				payload := frameAt(1)
				pm, err := websocket.NewPreparedMessage(websocket.TextMessage, payload)
				if err != nil {
					b.Fatal(err)
				}
				// A server frame is unmasked: FIN+text, a length, the payload.
				one := append([]byte{0x81, 126, byte(len(payload) >> 8), byte(len(payload))}, payload...)
				if len(payload) < 126 {
					b.Fatal("payload too short for the 16-bit length form")
				}
				batch := bytes.Repeat(one, k)
				jobs := make([]chan struct{}, n)
				for i, c := range server {
					jobs[i] = make(chan struct{}, 1)
					go func() {
						for range jobs[i] {
							if mode == "prepared" {
								for range k {
									_ = c.WritePreparedMessage(pm)
								}
							} else {
								_, _ = c.NetConn().Write(batch)
							}
						}
					}()
				}
				defer func() {
					for _, j := range jobs {
						close(j)
					}
				}()
				b.ResetTimer()
				var want int64
				for b.Loop() {
					for _, j := range jobs {
						j <- struct{}{}
					}
					want += int64(n * k)
					for got.Load() < want {
						time.Sleep(20 * time.Microsecond)
					}
				}
				b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "msgs/s")
			})
		}
	}
}

// socketPairs returns the server ends of n WebSocket connections over
// loopback whose client ends read and count every message.
func socketPairs(b *testing.B, n int) ([]*websocket.Conn, *atomic.Int64) {
	b.Helper()
	up := websocket.Upgrader{ReadBufferSize: 512, WriteBufferSize: 1024, WriteBufferPool: &sync.Pool{}}
	accepted := make(chan *websocket.Conn, n)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		accepted <- c
		<-release
		_ = c.Close()
	}))
	b.Cleanup(func() { close(release); srv.Close() })
	var got atomic.Int64
	d := &websocket.Dialer{ReadBufferSize: 2048, WriteBufferSize: 512}
	server := make([]*websocket.Conn, 0, n)
	for range n {
		c, _, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = c.Close() })
		go func() {
			for {
				_, r, err := c.NextReader()
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, r)
				got.Add(1)
			}
		}()
		server = append(server, <-accepted)
	}
	return server, &got
}
