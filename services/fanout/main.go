// Command fanout consumes the campaign-events topic into each campaign's live
// view and pushes every event to the gateways watching its campaign.
package main

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/campaign-live/campaign-live/pkg/app"
	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/pkg/kafkax"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/pkg/pgdb"
	"github.com/campaign-live/campaign-live/pkg/telemetry"
	"github.com/campaign-live/campaign-live/services/fanout/internal/api"
	"github.com/campaign-live/campaign-live/services/fanout/internal/consumer"
	"github.com/campaign-live/campaign-live/services/fanout/internal/hub"
	"github.com/campaign-live/campaign-live/services/fanout/internal/view"
)

func main() {
	log := app.Logger("fanout")
	app.Main(log, func(ctx context.Context) error { return run(ctx, log) })
}

func run(ctx context.Context, log *slog.Logger) error {
	cfg, err := loadConfig(app.NewEnv())
	if err != nil {
		return err
	}
	tel, err := telemetry.Setup(ctx, "fanout", telemetry.Options{})
	if err != nil {
		return err
	}
	defer tel.Close() // flush the last spans

	pool, err := pgdb.Connect(ctx, cfg.DatabaseURL, 30*time.Second)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := pgdb.Migrate(ctx, pool, log, view.Migrations()); err != nil {
		return err
	}
	views := view.NewStore(pool, cfg.RecentItems)
	gateways := hub.New(cfg.GatewayQueue, cfg.GatewayStall, log)

	var verifier *auth.Verifier
	if cfg.AuthSecret != "" {
		if verifier, err = auth.NewHS256([]byte(cfg.AuthSecret)); err != nil {
			return err
		}
	}
	httpHandler := api.NewHTTPHandler(api.MakeSet(api.NewService(views), verifier), log)
	grpcServer := grpc.NewServer(
		// Find dead gateways (and let live ones keep idle streams open).
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	)
	history := api.HistoryFunc(func(ctx context.Context, id int64, after cursor.Position) (view.History, error) {
		return views.History(ctx, id, after, cfg.HistoryEvents)
	})
	campaignv1.RegisterFanoutServer(grpcServer, api.NewGRPCServer(gateways, views, log).WithHistory(history))
	reader := consumer.NewReader(consumer.ReaderConfig{
		Brokers: cfg.KafkaBrokers, Topic: cfg.KafkaTopic, Group: cfg.KafkaGroup,
		CommitInterval: cfg.CommitInterval, SessionTimeout: cfg.SessionTimeout,
	}, log)
	cons := consumer.New(reader, views, gateways, consumer.Config{
		Epoch: cfg.CursorEpoch, Group: cfg.KafkaGroup, MaxBatch: cfg.ApplyBatch,
	}, log)

	lag := kafkax.NewLag(cfg.KafkaBrokers, cfg.KafkaTopic, cfg.KafkaGroup, log)
	lag.Next = cons.Next
	stopLag, err := lag.Register()
	if err != nil {
		return err
	}
	defer stopLag()
	stopHubMetrics, err := gateways.RegisterMetrics()
	if err != nil {
		return err
	}
	defer stopHubMetrics()
	ops := app.NewOps(map[string]app.Check{"postgres": pool.Ping}, nil)
	ops.Handle("GET /metrics", tel.Metrics)
	if cfg.Pprof {
		ops.HandlePprof()
	}

	g := app.NewGroup(ctx)
	flushed := make(chan struct{})
	g.Go("consumer", func(ctx context.Context) error {
		err := cons.Run(ctx)
		// Nothing is published any more. Let the gateway streams send what
		// is queued before they end, then commit: the next owner of the
		// partitions starts after what the gateways have.
		fctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
		_ = gateways.Flush(fctx)
		cancel()
		close(flushed)
		// Closing flushes the last commits and leaves the group, so the
		// partitions move to another instance without a session timeout.
		if cerr := reader.Close(); cerr != nil && err == nil {
			err = cerr
		}
		return err
	})
	pruner := view.NewPruner(views, view.Retention{
		HistoryEvents: cfg.HistoryEvents, HistoryAge: cfg.HistoryAge, SeenAge: cfg.EventSeenAge,
	})
	g.Go("prune", func(ctx context.Context) error {
		pruner.Run(ctx, cfg.HistoryPrune, log)
		return nil
	})
	g.Go("grpc", func(ctx context.Context) error {
		return api.ServeGRPC(ctx, log, cfg.GRPCAddr, grpcServer, gateways, cfg.ShutdownGrace, flushed)
	})
	g.Go("http", func(ctx context.Context) error {
		return app.ServeHTTP(ctx, log, "http", cfg.HTTPAddr, httpHandler, cfg.ShutdownGrace)
	})
	g.Go("ops", func(ctx context.Context) error {
		return app.ServeHTTP(ctx, log, "ops", cfg.OpsAddr, ops, cfg.ShutdownGrace)
	})
	log.Info("fanout started", "topic", cfg.KafkaTopic, "group", cfg.KafkaGroup, "epoch", cfg.CursorEpoch)
	err = g.Wait()
	log.Info("fanout stopped")
	return err
}
