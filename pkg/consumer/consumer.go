// Package consumer runs a Kafka consumer group whose every record is applied
// to Postgres exactly once: the handler's writes and the record's offset
// commit in one transaction, and a record at or below the stored offset is
// skipped. Kafka's own committed offset is only where to resume reading; the
// database is the truth.
//
// # Guarantees
//
// Redelivery (a crash between the database commit and the Kafka commit, a
// rebalance) is harmless. A producer's duplicate (the outbox publishes an
// event again, at a new offset) is not caught by offsets: handlers make
// their effects idempotent by the domain's own ids (a contribution counted
// once by its id, a campaign upserted).
//
// # Concurrency and lifecycle
//
// One goroutine fetches and applies records in partition order; Kafka
// offsets are committed after each applied record. Run returns when its
// context ends, closing the reader so the group rebalances at once. A
// record that cannot be decoded is logged and skipped, so it cannot wedge
// its partition; a handler error is retried with backoff until it succeeds
// or the context ends, because skipping it would lose an effect. A failed
// fetch (the broker restarting) is retried too: the service outlives its
// broker's restarts.
package consumer

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"

	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/pkg/pgdb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the offsets table's migration set.
func Migrations() pgdb.Migrations {
	return pgdb.Embedded(migrations, "consumer_schema_version")
}

// Handler applies one event inside tx.
type Handler func(ctx context.Context, tx pgx.Tx, e *campaignv1.Event) error

// Config configures a Consumer.
type Config struct {
	Brokers []string
	Topic   string
	Group   string
	// Types lists the event types to decode and hand over; the others only
	// advance the offset. Empty means all.
	Types   []string
	Handler Handler
	Pool    *pgxpool.Pool
	Log     *slog.Logger
}

// Consumer applies a topic to a database.
type Consumer struct {
	cfg Config
}

// New returns a Consumer.
func New(cfg Config) *Consumer { return &Consumer{cfg: cfg} }

// Run consumes until ctx ends.
func (c *Consumer) Run(ctx context.Context) error {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:  c.cfg.Brokers,
		Topic:    c.cfg.Topic,
		GroupID:  c.cfg.Group,
		MinBytes: 1,
		MaxBytes: 10 << 20,
		// MaxWait bounds a fetch's long poll; the broker answers as soon as
		// a record arrives, so it costs no latency. kafka-go asks the broker
		// to wait MaxWait less a margin (a quarter of it below 1 s) and cuts
		// the connection at MaxWait: with a short MaxWait a busy broker
		// misses that margin, the fetch fails with an i/o timeout and the
		// partition reconnects, delaying its next record.
		MaxWait:        5 * time.Second,
		StartOffset:    kafka.FirstOffset,
		CommitInterval: 0, // synchronous commits, after the database's
	})
	defer r.Close()
	unregister := registerLag(c.cfg.Group, r)
	defer unregister()
	backoff := 100 * time.Millisecond
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// A broker restart or a rebalance ends a fetch; the reader
			// reconnects by itself, so wait and fetch again rather than
			// take the service down with the broker.
			c.cfg.Log.Warn("fetch", "topic", c.cfg.Topic, "err", err, "retry_in", backoff.String())
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if err := c.applyWithRetry(ctx, m); err != nil {
			return nil // only ctx ends the retries
		}
		if err := r.CommitMessages(ctx, m); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// The database holds the truth; a lost Kafka commit only means
			// a harmless redelivery.
			c.cfg.Log.Warn("commit offset", "partition", m.Partition, "offset", m.Offset, "err", err)
		}
	}
}

func (c *Consumer) applyWithRetry(ctx context.Context, m kafka.Message) error {
	backoff := 100 * time.Millisecond
	for {
		err := c.Apply(ctx, m)
		if err == nil {
			return nil
		}
		c.cfg.Log.Error("apply record", "partition", m.Partition, "offset", m.Offset, "err", err, "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

// Apply applies one record and its offset in one transaction, unless the
// database has already applied it.
func (c *Consumer) Apply(ctx context.Context, m kafka.Message) (err error) {
	if !c.wanted(m) {
		// Nothing to apply, so nothing to record: the stored offset only
		// guards effects, and a redelivered unwanted record has none.
		// Skipping the transaction matters: most of the topic is
		// unwanted to most consumers.
		return nil
	}
	ctx, span := startProcess(ctx, c.cfg.Group, m)
	defer func() { endProcess(span, err) }()
	return pgx.BeginFunc(ctx, c.cfg.Pool, func(tx pgx.Tx) error {
		var applied int64 = -1
		err := tx.QueryRow(ctx,
			`SELECT "offset" FROM consumer_offsets WHERE group_id = $1 AND topic = $2 AND partition = $3 FOR UPDATE`,
			c.cfg.Group, m.Topic, m.Partition).Scan(&applied)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("read applied offset: %w", err)
		}
		if m.Offset <= applied {
			return nil
		}
		e, err := event.Unmarshal(m.Value)
		if err != nil {
			c.cfg.Log.Error("skip undecodable record", "partition", m.Partition, "offset", m.Offset, "err", err)
		} else if err := c.cfg.Handler(ctx, tx, e); err != nil {
			return fmt.Errorf("handle %s event %s: %w", e.GetType(), e.GetId(), err)
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO consumer_offsets (group_id, topic, partition, "offset") VALUES ($1, $2, $3, $4)
			ON CONFLICT (group_id, topic, partition) DO UPDATE SET "offset" = EXCLUDED."offset"`,
			c.cfg.Group, m.Topic, m.Partition, m.Offset); err != nil {
			return fmt.Errorf("store applied offset: %w", err)
		}
		return nil
	})
}

func (c *Consumer) wanted(m kafka.Message) bool {
	if len(c.cfg.Types) == 0 {
		return true
	}
	for _, h := range m.Headers {
		if h.Key == event.HeaderType {
			return slices.Contains(c.cfg.Types, string(h.Value))
		}
	}
	return true // no header: decode and let the handler look
}
