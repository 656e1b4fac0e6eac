package main

import (
	"errors"
	"fmt"
	"math"
	"net"
	"time"

	"github.com/campaign-live/campaign-live/pkg/app"
	"github.com/campaign-live/campaign-live/pkg/kafkax"
)

// config is the fanout's environment, read and validated before anything
// listens.
type config struct {
	DatabaseURL    string
	KafkaBrokers   []string
	KafkaTopic     string
	KafkaGroup     string
	CommitInterval time.Duration
	SessionTimeout time.Duration
	CursorEpoch    uint32
	ApplyBatch     int
	HistoryEvents  int
	HistoryAge     time.Duration
	HistoryPrune   time.Duration
	EventSeenAge   time.Duration // 0: event ids are never forgotten
	RecentItems    int
	GRPCAddr       string
	HTTPAddr       string
	OpsAddr        string
	Pprof          bool // OPS_PPROF: /debug/pprof/ on the ops listener
	GatewayQueue   int
	GatewayStall   time.Duration
	AuthSecret     string
	ShutdownGrace  time.Duration
}

func loadConfig(env *app.Env) (config, error) {
	c := config{
		DatabaseURL:    env.String("DATABASE_URL", "postgres://campaignlive:campaignlive@127.0.0.1:55432/fanout?sslmode=disable"),
		KafkaBrokers:   env.List("KAFKA_BROKERS", []string{"127.0.0.1:59092"}),
		KafkaTopic:     env.String("KAFKA_TOPIC", kafkax.DefaultTopic),
		KafkaGroup:     env.String("KAFKA_GROUP", "fanout"),
		CommitInterval: env.Duration("KAFKA_COMMIT_INTERVAL", time.Second),
		// A dead instance's partitions wait this long before they move; a
		// stopped one leaves at once.
		SessionTimeout: env.Duration("KAFKA_SESSION_TIMEOUT", 10*time.Second),
		CursorEpoch:    uint32(env.Int("CURSOR_EPOCH", 1, 1, math.MaxInt32)),
		ApplyBatch:     env.Int("APPLY_MAX_BATCH", 256, 1, 10_000),
		HistoryEvents:  env.Int("HISTORY_MAX_EVENTS", 1000, 1, 1_000_000),
		HistoryAge:     env.Duration("HISTORY_MAX_AGE", 24*time.Hour),
		HistoryPrune:   env.Duration("HISTORY_PRUNE_INTERVAL", time.Minute),
		RecentItems:    env.Int("RECENT_ITEMS", 20, 1, 1000),
		GRPCAddr:       env.String("GRPC_ADDR", "127.0.0.1:8203"),
		HTTPAddr:       env.String("HTTP_ADDR", "127.0.0.1:8103"),
		OpsAddr:        env.String("OPS_ADDR", "127.0.0.1:9103"),
		Pprof:          env.Bool("OPS_PPROF", true),
		GatewayQueue:   env.Int("GATEWAY_QUEUE", 4096, 16, 1<<20),
		GatewayStall:   env.Duration("GATEWAY_STALL_TIMEOUT", 10*time.Second),
		// Optional: with it, owners may read their private campaigns over
		// REST; without it, private campaigns are not found there.
		AuthSecret:    env.String("AUTH_JWT_SECRET", ""),
		ShutdownGrace: env.Duration("SHUTDOWN_GRACE", 10*time.Second),
	}
	errs := []error{env.Err()}
	if c.SessionTimeout < 6*time.Second || c.SessionTimeout > 5*time.Minute {
		errs = append(errs, fmt.Errorf("KAFKA_SESSION_TIMEOUT=%s: want 6s to 5m (the broker's group session bounds)", c.SessionTimeout))
	}
	for key, d := range map[string]time.Duration{"HISTORY_MAX_AGE": c.HistoryAge, "HISTORY_PRUNE_INTERVAL": c.HistoryPrune} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s=%s: want a positive duration", key, d))
		}
	}
	// EVENT_SEEN_MAX_AGE is how long an applied event id is remembered, to
	// recognise a record read again. It must stay above the topic's
	// retention.ms + segment.ms (7 + 7 days by default): a record can be
	// read, and so redelivered or replayed, until then. The default's day
	// more is the margin for Kafka's retention check (every 5 minutes) and
	// for clocks. 0 turns pruning off, which env.Duration would refuse.
	c.EventSeenAge = 15 * 24 * time.Hour
	if v := env.String("EVENT_SEEN_MAX_AGE", ""); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("EVENT_SEEN_MAX_AGE=%q: want 0 (never prune) or a duration such as 360h", v))
		} else {
			c.EventSeenAge = d
		}
	}
	if c.EventSeenAge > 0 && c.EventSeenAge < c.HistoryAge {
		// An id forgotten while its history row remains could not be
		// applied again: its history insert would fail on every retry.
		errs = append(errs, fmt.Errorf("EVENT_SEEN_MAX_AGE=%s: want 0 (never prune) or at least HISTORY_MAX_AGE (%s)",
			c.EventSeenAge, c.HistoryAge))
	}
	for key, addr := range map[string]string{"GRPC_ADDR": c.GRPCAddr, "HTTP_ADDR": c.HTTPAddr, "OPS_ADDR": c.OpsAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: want host:port", key, addr))
		}
	}
	for _, b := range c.KafkaBrokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			errs = append(errs, fmt.Errorf("KAFKA_BROKERS: %q: want host:port", b))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return config{}, err
	}
	return c, nil
}
