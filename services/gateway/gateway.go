package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/campaign-live/campaign-live/pkg/app"
	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/services/gateway/internal/fanoutlink"
	"github.com/campaign-live/campaign-live/services/gateway/internal/hub"
	"github.com/campaign-live/campaign-live/services/gateway/internal/ws"
)

// serve builds the gateway from the inside out and runs it on the given
// listeners until ctx ends, then drains within cfg.DrainTimeout. metrics
// serves /metrics on the ops listener.
func serve(ctx context.Context, log *slog.Logger, cfg config, wsLn, opsLn net.Listener, metrics http.Handler) error {
	verifier, err := auth.New(ctx, cfg.Auth)
	if err != nil {
		return err
	}
	link, err := fanoutlink.New(cfg.FanoutAddrs, log, fanoutlink.Options{
		SubscribeTimeout: cfg.SubscribeTimeout,
		SnapshotTimeout:  cfg.SnapshotTimeout,
	})
	if err != nil {
		return err
	}
	defer link.Close()
	rooms := hub.New(link, log)
	sockets, err := ws.NewHandler(ws.Config{
		AllowedOrigins: cfg.AllowedOrigins,
		WriteTimeout:   cfg.WriteTimeout,
		PongWait:       cfg.PongWait,
		ReadLimit:      int64(cfg.ReadLimit),
		SendQueue:      cfg.SendQueue,
		FrameRate:      cfg.FrameRate,
		FrameBurst:     cfg.FrameBurst,
		RefusedFrames:  cfg.RefusedFrames,
		ConnectsPerIP:  cfg.ConnectsPerIP,
		SocketsPerIP:   cfg.SocketsPerIP,
	}, rooms, link, verifier, log, nil)
	if err != nil {
		return err
	}
	defer sockets.Close()

	var draining atomic.Bool
	ops := app.NewOps(map[string]app.Check{"fanout": link.Check}, draining.Load)
	ops.Handle("GET /metrics", metrics)
	if cfg.Pprof {
		ops.HandlePprof()
	}

	g := app.NewGroup(ctx)
	drained := make(chan struct{})
	g.Go("fanout link", func(ctx context.Context) error {
		return link.Run(ctx, rooms)
	})
	g.Go("websocket", func(ctx context.Context) error {
		defer close(drained)
		// A handshake's headers must arrive within HandshakeTimeout, or the
		// connection is cut (slowloris); an upgraded socket is hijacked and
		// keeps its own deadlines.
		srv := &http.Server{
			Handler:           sockets,
			ReadHeaderTimeout: cfg.HandshakeTimeout,
			IdleTimeout:       cfg.HandshakeTimeout,
			MaxHeaderBytes:    64 << 10,
		}
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(wsLn) }()
		log.Info("listening", "server", "websocket", "addr", wsLn.Addr().String())
		select {
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		case <-ctx.Done():
		}
		// Not ready first, so the load balancer stops sending; then close
		// the listener and every socket (1012), all within the deadline.
		draining.Store(true)
		dctx, cancel := context.WithTimeout(context.Background(), cfg.DrainTimeout)
		defer cancel()
		if err := srv.Shutdown(dctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			log.Warn("shut down websocket server", "err", err)
		}
		sockets.Drain(dctx)
		log.Info("drained")
		return nil
	})
	g.Go("ops", func(context.Context) error {
		// Ops outlives the drain, so /readyz answers 503 while it runs.
		octx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			<-drained
			cancel()
		}()
		return app.Serve(octx, log, "ops", opsLn, &http.Server{Handler: ops, ReadHeaderTimeout: 10 * time.Second}, time.Second)
	})
	return g.Wait()
}
