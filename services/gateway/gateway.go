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
// listeners until ctx ends, then drains within cfg.DrainTimeout.
func serve(ctx context.Context, log *slog.Logger, cfg config, wsLn, opsLn net.Listener) error {
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
	sockets := ws.NewHandler(ws.Config{
		AllowedOrigins: cfg.AllowedOrigins,
		WriteTimeout:   cfg.WriteTimeout,
		PongWait:       cfg.PongWait,
		ReadLimit:      int64(cfg.ReadLimit),
		SendQueue:      cfg.SendQueue,
	}, rooms, link, verifier, log, nil)

	var draining atomic.Bool
	ops := app.NewOps(map[string]app.Check{"fanout": link.Check}, draining.Load)

	g := app.NewGroup(ctx)
	drained := make(chan struct{})
	g.Go("fanout link", func(ctx context.Context) error {
		return link.Run(ctx, rooms)
	})
	g.Go("websocket", func(ctx context.Context) error {
		defer close(drained)
		srv := &http.Server{Handler: sockets, ReadHeaderTimeout: 10 * time.Second}
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
