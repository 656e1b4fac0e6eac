// Package writesvc is the bootstrap shared by the services that accept
// writes over REST and publish them through a transactional outbox
// (content, contribution, comment, milestone).
//
// Run reads the common configuration, opens and migrates the service's
// database, then runs its parts together until a signal: the REST server,
// the outbox relay, the ops server and, for services that keep a campaign
// replica or consume events, a consumer (pkg/consumer). A service supplies only its name, its
// migrations and a function that builds its HTTP handler.
package writesvc

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/cors"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/campaign-live/campaign-live/pkg/app"
	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/consumer"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/kafkax"
	"github.com/campaign-live/campaign-live/pkg/limit"
	"github.com/campaign-live/campaign-live/pkg/outbox"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/pkg/pgdb"
	"github.com/campaign-live/campaign-live/pkg/replica"
	"github.com/campaign-live/campaign-live/pkg/telemetry"
)

// Deps are what a service's handler is built from.
type Deps struct {
	Pool     *pgxpool.Pool
	Verifier *auth.Verifier
	Log      *slog.Logger
	Env      *app.Env // for the service's own settings; read them in Handler
	// Campaigns reads the campaign replica; nil unless Service.Replica.
	Campaigns *replica.Lookup
}

// Service describes one writing service.
type Service struct {
	Name       string
	HTTPAddr   string // default of HTTP_ADDR
	OpsAddr    string // default of OPS_ADDR
	Migrations pgdb.Migrations
	Handler    func(ctx context.Context, d Deps) (http.Handler, error)
	// Replica keeps a replica of the campaigns from the topic, in the
	// service's database, for Deps.Campaigns.
	Replica bool
	// Consume, if set, receives the events of ConsumeTypes too, in the same
	// consumer group as the replica and with the same exactly-once
	// machinery (pkg/consumer). It implies Replica.
	Consume      func(d Deps) consumer.Handler
	ConsumeTypes []string
}

// Main runs s as the process's service.
func Main(s Service) {
	log := app.Logger(s.Name)
	app.Main(log, func(ctx context.Context) error { return Run(ctx, log, app.NewEnv(), s) })
}

// Run runs s until ctx ends.
func Run(ctx context.Context, log *slog.Logger, env *app.Env, s Service) error {
	var (
		dsn      = env.Required("DATABASE_URL")
		brokers  = env.List("KAFKA_BROKERS", []string{"127.0.0.1:59092"})
		topic    = env.String("KAFKA_TOPIC", kafkax.DefaultTopic)
		httpAddr = env.String("HTTP_ADDR", s.HTTPAddr)
		opsAddr  = env.String("OPS_ADDR", s.OpsAddr)
		authCfg  = auth.Config{
			Secret:   env.String("AUTH_JWT_SECRET", "local-dev-secret"),
			JWKSURL:  env.String("AUTH_JWKS_URL", ""),
			Issuer:   env.String("AUTH_ISSUER", ""),
			Audience: env.String("AUTH_AUDIENCE", ""),
		}
		origins = env.List("ALLOWED_ORIGINS", []string{"http://localhost:8080", "http://127.0.0.1:8080"})
		perIP   = rateVar(env, "RATE_WRITES_PER_IP", "600/1m")
		perUser = rateVar(env, "RATE_WRITES_PER_USER", "120/1m")
		grace   = env.Duration("SHUTDOWN_TIMEOUT", 20*time.Second)
		poll    = env.Duration("OUTBOX_POLL", time.Second)
		pprof   = env.Bool("OPS_PPROF", true)
		batch   = env.Int("OUTBOX_BATCH", 256, 1, 10000)
		group   = env.String("KAFKA_GROUP", s.Name)
		wait    = env.Duration("REPLICA_WAIT", 2*time.Second)
	)
	consumes := s.Replica || s.Consume != nil
	if err := env.Err(); err != nil {
		return err
	}
	tel, err := telemetry.Setup(ctx, s.Name, telemetry.Options{})
	if err != nil {
		return err
	}
	defer tel.Close() // flush the last spans
	verifier, err := auth.New(ctx, authCfg)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	limits, err := limit.NewWrites(perIP, perUser, verifier)
	if err != nil {
		return fmt.Errorf("rate limits: %w", err)
	}
	defer limits.Close()
	pool, err := pgdb.Connect(ctx, dsn, 30*time.Second)
	if err != nil {
		return err
	}
	defer pool.Close()
	sets := []pgdb.Migrations{outbox.Migrations()}
	if consumes {
		sets = append(sets, consumer.Migrations(), replica.Migrations())
	}
	if err := pgdb.Migrate(ctx, pool, log, append(sets, s.Migrations)...); err != nil {
		return err
	}

	d := Deps{Pool: pool, Verifier: verifier, Log: log, Env: env}
	if consumes {
		d.Campaigns = replica.NewLookup(pool, wait)
	}
	handler, err := s.Handler(ctx, d)
	if err != nil {
		return err
	}
	handler = otelhttp.NewHandler(corsFor(origins).Handler(limits.Handler(handler)), "http",
		// Named by method only: a path carries ids, and span names must stay
		// few; otelhttp records the matched route as http.route.
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }))
	writer := kafkax.NewWriter(brokers, topic, batch)
	defer writer.Close()
	relay := &outbox.Relay{Pool: pool, Publisher: writer, Name: s.Name, Topic: topic, Log: log, Batch: batch, Poll: poll}
	if err := outbox.RegisterMetrics(pool); err != nil {
		return fmt.Errorf("outbox metrics: %w", err)
	}
	ops := app.NewOps(map[string]app.Check{"postgres": pool.Ping}, nil)
	ops.Handle("GET /metrics", tel.Metrics)
	if pprof {
		ops.HandlePprof()
	}

	g := app.NewGroup(ctx)
	if consumes {
		c := consumer.New(consumer.Config{
			Brokers: brokers, Topic: topic, Group: group, Pool: pool, Log: log,
			Types: append([]string{event.TypeCampaign}, s.ConsumeTypes...), Handler: eventHandler(d, s),
		})
		g.Go("consumer", c.Run)
	}
	if err := env.Err(); err != nil {
		return err
	}
	g.Go("http", func(ctx context.Context) error { return app.ServeHTTP(ctx, log, "http", httpAddr, handler, grace) })
	g.Go("ops", func(ctx context.Context) error { return app.ServeHTTP(ctx, log, "ops", opsAddr, ops, grace) })
	g.Go("outbox relay", relay.Run)
	return g.Wait()
}

// eventHandler applies campaign events to the replica and hands the others to
// the service's own handler.
func eventHandler(d Deps, s Service) consumer.Handler {
	var own consumer.Handler
	if s.Consume != nil {
		own = s.Consume(d)
	}
	return func(ctx context.Context, tx pgx.Tx, e *campaignv1.Event) error {
		if e.GetType() == event.TypeCampaign {
			if err := replica.Apply(ctx, tx, e); err != nil {
				return err
			}
		}
		if own == nil {
			return nil
		}
		return own(ctx, tx, e)
	}
}

func rateVar(env *app.Env, key, def string) limit.Rate {
	var r limit.Rate
	env.Parsed(key, def, func(v string) (err error) { r, err = limit.ParseRate(v); return err })
	return r
}

// corsFor lets browsers on the allowed origins call the REST API (the same
// allowlist as the WebSocket's).
func corsFor(origins []string) *cors.Cors {
	return cors.New(cors.Options{
		AllowedOrigins:   origins,
		AllowedMethods:   []string{http.MethodGet, http.MethodPost},
		AllowedHeaders:   []string{"Authorization", "Content-Type", "Idempotency-Key"},
		ExposedHeaders:   []string{"Retry-After", "Idempotent-Replayed"},
		AllowCredentials: true,
		MaxAge:           600,
	})
}
