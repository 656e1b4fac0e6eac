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
// One goroutine fetches ahead; another applies what has arrived, in
// partition order, as one transaction a batch; Kafka offsets are committed
// after each applied batch. Run returns when its
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
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/trace"

	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/kafkax"
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

// maxBatch bounds the records applied in one transaction.
const maxBatch = 256

// Run consumes until ctx ends. A fetcher goroutine reads ahead; the loop
// takes what has arrived (at least one record, at most maxBatch) and
// applies it in one transaction, so a busy topic costs a commit per batch,
// not per record: one transaction and one Kafka commit a record held a
// writing service to ≈ 160–260 records/s, far behind a topic taking 1,000
// writes/s (docs/performance.md). At low load a batch is one record.
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
	unregister := registerLag(c.cfg)
	defer unregister()

	queue := make(chan kafkax.Fetched, maxBatch)
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = kafkax.FetchInto(ctx, r, queue, 5*time.Second, c.cfg.Log) }()
	fetched := make([]kafkax.Fetched, 0, maxBatch)
	batch := make([]kafka.Message, 0, maxBatch)
	for {
		var ok bool
		if fetched, ok = kafkax.Collect(ctx, queue, fetched[:0], maxBatch); !ok {
			return nil // ctx ended (the queue is never closed)
		}
		batch = batch[:0]
		for _, f := range fetched {
			batch = append(batch, f.Message)
		}
		if err := c.applyWithRetry(ctx, batch); err != nil {
			return nil // only ctx ends the retries
		}
		if err := r.CommitMessages(ctx, batch...); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// The database holds the truth; a lost Kafka commit only means
			// a harmless redelivery.
			c.cfg.Log.Warn("commit offsets", "records", len(batch), "err", err)
		}
	}
}

func (c *Consumer) applyWithRetry(ctx context.Context, batch []kafka.Message) error {
	backoff := 100 * time.Millisecond
	for {
		err := c.ApplyBatch(ctx, batch)
		if err == nil {
			return nil
		}
		c.cfg.Log.Error("apply records", "records", len(batch), "first_partition", batch[0].Partition,
			"first_offset", batch[0].Offset, "err", err, "retry_in", backoff.String())
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
func (c *Consumer) Apply(ctx context.Context, m kafka.Message) error {
	return c.ApplyBatch(ctx, []kafka.Message{m})
}

// ApplyBatch applies records (in fetch order, so in order per partition)
// and their partitions' offsets in one transaction, skipping any the
// database has already applied. Records the consumer does not want open
// no transaction: the stored offset only guards effects, and a redelivered
// unwanted record has none. That matters: most of the topic is unwanted to
// most consumers.
func (c *Consumer) ApplyBatch(ctx context.Context, batch []kafka.Message) (err error) {
	var wanted []kafka.Message
	for _, m := range batch {
		if c.wanted(m) {
			wanted = append(wanted, m)
		}
	}
	if len(wanted) == 0 {
		return nil
	}
	ctxs := make([]context.Context, len(wanted))
	spans := make([]trace.Span, len(wanted))
	for i, m := range wanted {
		ctxs[i], spans[i] = startProcess(ctx, c.cfg.Group, m)
	}
	defer func() {
		for _, span := range spans {
			endProcess(span, err)
		}
	}()
	return pgx.BeginFunc(ctx, c.cfg.Pool, func(tx pgx.Tx) error {
		// One statement reads (and locks) the applied offsets of every
		// partition in the batch, and one stores them: a round trip per
		// partition each way was most of a small batch's round trips.
		applied, err := c.appliedOffsets(ctx, tx, wanted)
		if err != nil {
			return err
		}
		advanced := map[topicPartition]bool{}
		for i, m := range wanted {
			at := topicPartition{m.Topic, m.Partition}
			if m.Offset <= applied[at] {
				continue
			}
			e, err := event.Unmarshal(m.Value)
			if err != nil {
				c.cfg.Log.Error("skip undecodable record", "partition", m.Partition, "offset", m.Offset, "err", err)
			} else if err := c.cfg.Handler(ctxs[i], tx, e); err != nil {
				return fmt.Errorf("handle %s event %s: %w", e.GetType(), e.GetId(), err)
			}
			applied[at] = m.Offset
			advanced[at] = true
		}
		if len(advanced) == 0 {
			return nil
		}
		var (
			topics     []string
			partitions []int32
			offsets    []int64
		)
		for at := range advanced {
			topics, partitions, offsets = append(topics, at.topic), append(partitions, int32(at.partition)), append(offsets, applied[at])
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO consumer_offsets (group_id, topic, partition, "offset")
			SELECT $1, t, p, o FROM unnest($2::text[], $3::integer[], $4::bigint[]) AS u (t, p, o)
			ON CONFLICT (group_id, topic, partition) DO UPDATE SET "offset" = EXCLUDED."offset"`,
			c.cfg.Group, topics, partitions, offsets); err != nil {
			return fmt.Errorf("store applied offsets: %w", err)
		}
		return nil
	})
}

type topicPartition struct {
	topic     string
	partition int
}

// appliedOffsets reads, and locks for the rest of tx, the last applied
// offset of each partition of batch; -1 for a partition never applied.
func (c *Consumer) appliedOffsets(ctx context.Context, tx pgx.Tx, batch []kafka.Message) (map[topicPartition]int64, error) {
	applied := map[topicPartition]int64{}
	var (
		topics     []string
		partitions []int32
	)
	for _, m := range batch {
		at := topicPartition{m.Topic, m.Partition}
		if _, ok := applied[at]; !ok {
			applied[at] = -1
			topics, partitions = append(topics, m.Topic), append(partitions, int32(m.Partition))
		}
	}
	rows, err := tx.Query(ctx, `
		SELECT topic, partition, "offset" FROM consumer_offsets
		WHERE group_id = $1 AND (topic, partition) IN (SELECT * FROM unnest($2::text[], $3::integer[]))
		ORDER BY topic, partition
		FOR UPDATE`, c.cfg.Group, topics, partitions)
	if err != nil {
		return nil, fmt.Errorf("read applied offsets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			at     topicPartition
			offset int64
		)
		if err := rows.Scan(&at.topic, &at.partition, &offset); err != nil {
			return nil, fmt.Errorf("read applied offsets: %w", err)
		}
		applied[at] = offset
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read applied offsets: %w", err)
	}
	return applied, nil
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
