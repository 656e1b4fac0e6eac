package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
)

// Logger returns the JSON logger of a service, at LOG_LEVEL (debug, info,
// warn, error; default info).
func Logger(service string) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(os.Getenv("LOG_LEVEL"))); err != nil {
		level = slog.LevelInfo
	}
	h := slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level})
	return slog.New(traceHandler{h}).With("service", service)
}

// Main runs run and exits 1 if it fails, logging the error once.
func Main(log *slog.Logger, run func(ctx context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("exit", "err", err)
		stop()
		os.Exit(1)
	}
}

// Group runs long-lived parts of a service together: the first to return an
// error, or the end of the parent context, stops them all.
type Group struct {
	g   *errgroup.Group
	ctx context.Context
}

// NewGroup returns a Group under ctx.
func NewGroup(ctx context.Context) *Group {
	g, gctx := errgroup.WithContext(ctx)
	return &Group{g: g, ctx: gctx}
}

// Context is canceled when any part fails or the parent ends.
func (g *Group) Context() context.Context { return g.ctx }

// Go runs f until the group's context ends. f must return soon after.
func (g *Group) Go(name string, f func(ctx context.Context) error) {
	g.g.Go(func() error {
		if err := f(g.ctx); err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	})
}

// Wait waits for every part and returns the first error.
func (g *Group) Wait() error { return g.g.Wait() }

// ServeHTTP serves h on addr until ctx ends, then shuts down, giving
// in-flight requests up to grace to finish.
func ServeHTTP(ctx context.Context, log *slog.Logger, name, addr string, h http.Handler, grace time.Duration) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	return Serve(ctx, log, name, ln, &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, grace)
}

// Serve serves srv on ln until ctx ends, then shuts it down under grace.
func Serve(ctx context.Context, log *slog.Logger, name string, ln net.Listener, srv *http.Server, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "server", name, "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", name, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shut down %s: %w", name, err)
	}
	return nil
}

// Check is a readiness check: nil when the dependency is usable.
type Check func(ctx context.Context) error

// OpsHandler serves /healthz (the process is alive) and /readyz (every check
// passes within a second). Ready can be switched off before a drain.
type OpsHandler struct {
	mux      *http.ServeMux
	checks   map[string]Check
	draining func() bool
}

// NewOps returns the ops handler with checks by name.
func NewOps(checks map[string]Check, draining func() bool) *OpsHandler {
	o := &OpsHandler{mux: http.NewServeMux(), checks: checks, draining: draining}
	o.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	o.mux.HandleFunc("GET /readyz", o.ready)
	return o
}

// Handle adds a handler, such as /metrics.
func (o *OpsHandler) Handle(pattern string, h http.Handler) { o.mux.Handle(pattern, h) }

// HandlePprof serves net/http/pprof's profiles under /debug/pprof/. The
// ops port listens on loopback locally and is not exposed outside the
// cluster; OPS_PPROF=false leaves them out.
func (o *OpsHandler) HandlePprof() {
	o.mux.Handle("GET /debug/pprof/", http.HandlerFunc(pprof.Index))
	o.mux.Handle("GET /debug/pprof/cmdline", http.HandlerFunc(pprof.Cmdline))
	o.mux.Handle("GET /debug/pprof/profile", http.HandlerFunc(pprof.Profile))
	o.mux.Handle("GET /debug/pprof/symbol", http.HandlerFunc(pprof.Symbol))
	o.mux.Handle("POST /debug/pprof/symbol", http.HandlerFunc(pprof.Symbol))
	o.mux.Handle("GET /debug/pprof/trace", http.HandlerFunc(pprof.Trace))
}

func (o *OpsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { o.mux.ServeHTTP(w, r) }

func (o *OpsHandler) ready(w http.ResponseWriter, r *http.Request) {
	if o.draining != nil && o.draining() {
		http.Error(w, "draining", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	var failed []string
	for name, check := range o.checks {
		if err := check(ctx); err != nil {
			failed = append(failed, name+": "+err.Error())
		}
	}
	if len(failed) > 0 {
		http.Error(w, strings.Join(failed, "\n"), http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}
