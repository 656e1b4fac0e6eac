package api

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"google.golang.org/grpc"

	"github.com/campaign-live/campaign-live/services/fanout/internal/hub"
)

// ServeGRPC serves srv on addr until ctx ends. Then it waits for flushed
// (closed once the consumer has stopped and the streams have sent what it
// queued; nil: do not wait), up to grace, ends every Watch stream through
// the hub (they never end on their own, so GracefulStop would wait for them
// forever), lets unary calls finish for up to grace, and stops.
func ServeGRPC(ctx context.Context, log *slog.Logger, addr string, srv *grpc.Server, h *hub.Hub, grace time.Duration, flushed <-chan struct{}) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "server", "grpc", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("serve grpc: %w", err)
	case <-ctx.Done():
	}
	if flushed != nil {
		select {
		case <-flushed:
		case <-time.After(grace):
			log.Warn("gateway streams end before the consumer flushed")
		}
	}
	h.Close()
	stopped := make(chan struct{})
	go func() {
		srv.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(grace):
		srv.Stop()
		<-stopped
	}
	return nil
}
