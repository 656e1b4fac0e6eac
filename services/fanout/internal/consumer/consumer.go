package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/trace"

	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/kafkax"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/pkg/telemetry"
	"github.com/campaign-live/campaign-live/services/fanout/internal/view"
)

// Reader is the part of *kafka.Reader the consumer uses.
type Reader interface {
	FetchMessage(ctx context.Context) (kafka.Message, error)
	CommitMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Views applies events to the campaign view; *view.Store is one.
type Views interface {
	ApplyBatch(ctx context.Context, recs []view.Record) ([]view.Result, error)
}

// Publisher pushes deliveries to gateways; *hub.Hub is one.
type Publisher interface {
	Publish(ctx context.Context, d *campaignv1.Delivery) error
}

// Config is how a Consumer applies the topic.
type Config struct {
	// Epoch is the lowest cursor epoch (CURSOR_EPOCH).
	Epoch uint32
	// Group is the consumer group, named in spans and metrics.
	Group string
	// MaxBatch is the most records applied in one transaction.
	MaxBatch int
}

// Consumer applies the topic to the view and pushes each event to the
// gateways that watch its campaign.
type Consumer struct {
	reader   Reader
	views    Views
	hub      Publisher
	epoch    uint32
	group    string
	maxBatch int
	log      *slog.Logger
	metrics  metrics
	// retryMax caps the wait between attempts to fetch or apply.
	retryMax time.Duration

	mu sync.Mutex
	// next is, per partition, the offset after the last record this
	// consumer applied, published and handed to the reader to commit.
	next map[int]int64
}

// New returns a consumer reading r. Its metrics go to the global meter
// provider as it is when New is called.
func New(r Reader, views Views, hub Publisher, cfg Config, log *slog.Logger) *Consumer {
	return &Consumer{
		reader: r, views: views, hub: hub, epoch: cfg.Epoch, group: cfg.Group, maxBatch: max(cfg.MaxBatch, 1),
		log: log, metrics: newMetrics(log), retryMax: 5 * time.Second, next: map[int]int64{},
	}
}

// Run consumes until ctx ends, then returns nil. A goroutine fetches
// records into a queue of MaxBatch; Run takes what is queued, up to
// MaxBatch records and without waiting for more, and for that batch, in
// order: applies it in one transaction (committed to Postgres), publishes
// its deliveries to the hub in topic order, and only then hands its
// offsets to the reader to commit, so a crash anywhere replays them. While
// one batch commits the next one queues, so batches grow with the load and
// a lone record is applied at once. A failed fetch (the broker away) is
// retried with backoff: the reader heals by itself. Run returns an error
// only when the reader is closed or a commit fails.
func (c *Consumer) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	queue := make(chan kafkax.Fetched, c.maxBatch)
	var fetchErr error
	go func() {
		fetchErr = kafkax.FetchInto(ctx, c.reader, queue, c.retryMax, c.log)
		close(queue)
	}()
	defer func() {
		cancel()
		for range queue { // wait for the fetcher: records it fetched are never committed
		}
	}()
	batch := make([]kafkax.Fetched, 0, c.maxBatch)
	for {
		var ok bool
		batch, ok = kafkax.Collect(ctx, queue, batch[:0], c.maxBatch)
		if !ok {
			if ctx.Err() != nil {
				return nil
			}
			return fetchErr // set before the queue was closed
		}
		if err := c.handle(ctx, batch); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// taken is one record of a batch on its way through.
type taken struct {
	ctx  context.Context // carries the record's consumer span
	span trace.Span
	rec  int // index in the batch's view records; -1 when undecodable
	done bool
}

// end ends the record's span; err, if any, is why it was not applied.
func (t *taken) end(err error) {
	endSpan(t.span, err)
	t.done = true
}

// handle applies, publishes and commits one batch. It returns only ctx's
// error or a failed commit: every other failure is retried or, for a
// record that can never apply, logged and skipped so it cannot wedge its
// partition.
func (c *Consumer) handle(ctx context.Context, msgs []kafkax.Fetched) error {
	items := make([]taken, len(msgs))
	recs := make([]view.Record, 0, len(msgs))
	defer func() {
		for i := range items {
			if !items[i].done {
				items[i].end(errAbandoned)
			}
		}
	}()
	for i, m := range msgs {
		sctx, span := startSpan(ctx, c.group, m.Message)
		items[i] = taken{ctx: sctx, span: span, rec: -1}
		e, err := event.Unmarshal(m.Value)
		if err != nil {
			// Never the bytes: a record can carry anything.
			c.log.ErrorContext(sctx, "skipping undecodable record", "partition", m.Partition, "offset", m.Offset, "err", err)
			c.metrics.skipped(ctx, "undecodable")
			items[i].end(err)
			continue
		}
		items[i].rec = len(recs)
		recs = append(recs, view.Record{Event: e, At: cursor.Position{Epoch: c.epoch, Partition: int32(m.Partition), Offset: m.Offset}})
	}

	var results []view.Result
	if len(recs) > 0 {
		var err error
		if results, err = c.apply(ctx, recs); err != nil {
			return err
		}
	}

	for i, m := range msgs {
		it := &items[i]
		if it.rec < 0 {
			continue // undecodable
		}
		e, res := recs[it.rec].Event, results[it.rec]
		if res.Err != nil {
			c.log.ErrorContext(it.ctx, "skipping event that cannot apply", "partition", m.Partition, "offset", m.Offset,
				"campaign_id", e.GetCampaignId(), "event_id", e.GetId(), "err", res.Err)
			c.metrics.skipped(ctx, "invalid")
			it.end(res.Err)
			continue
		}
		c.metrics.applied(ctx, e.GetType(), res.Duplicate)
		if res.NewEpoch {
			c.log.WarnContext(it.ctx, "partition log began again: new cursor epoch", "partition", m.Partition, "offset", m.Offset,
				"epoch", res.Position.Epoch, "event_id", e.GetId())
		}
		if res.Duplicate {
			c.log.DebugContext(it.ctx, "duplicate event", "campaign_id", e.GetCampaignId(), "event_id", e.GetId(),
				"partition", m.Partition, "offset", m.Offset)
		}
		// A duplicate is pushed too: whoever applied it first may have died
		// between its commit and its push. Gateways drop what they have by
		// position.
		if res.Delivery != nil {
			d := res.Delivery.PB()
			d.Traceparent = telemetry.Traceparent(it.ctx)
			if err := c.hub.Publish(ctx, d); err != nil {
				return err
			}
			if !res.Duplicate {
				c.metrics.published(ctx, res.Delivery.OccurredAt, m.At)
			}
		}
		it.end(nil)
	}

	offsets := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		offsets[i] = m.Message
	}
	if err := c.reader.CommitMessages(ctx, offsets...); err != nil {
		return fmt.Errorf("commit offsets: %w", err)
	}
	c.mu.Lock()
	for _, m := range msgs {
		c.next[m.Partition] = max(c.next[m.Partition], m.Offset+1)
	}
	c.mu.Unlock()
	return nil
}

// errAbandoned ends the spans of a batch that stopped before it was
// published (the consumer stopping): the next owner applies it again.
var errAbandoned = errors.New("consumer stopped before the event was published")

// apply retries transient failures (the database restarting) with backoff
// until ctx ends: skipping would lose events.
func (c *Consumer) apply(ctx context.Context, recs []view.Record) ([]view.Result, error) {
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		start := time.Now()
		res, err := c.views.ApplyBatch(ctx, recs)
		if err == nil {
			c.metrics.batch(ctx, len(recs), time.Since(start))
			return res, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		first := recs[0].At
		c.log.Warn("apply failed, retrying", "events", len(recs), "partition", first.Partition, "offset", first.Offset,
			"attempt", attempt, "retry_in", wait.String(), "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, c.retryMax)
	}
}

// Next returns, per partition, the offset after the last record this
// consumer applied, published and handed to the reader to commit.
func (c *Consumer) Next() map[int]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := make(map[int]int64, len(c.next))
	for p, o := range c.next {
		next[p] = o
	}
	return next
}

// ReaderConfig is how the fanout joins the topic.
type ReaderConfig struct {
	Brokers []string
	Topic   string
	Group   string
	// CommitInterval batches offset commits. Commits only ever name records
	// already applied and pushed; a crash loses at most this much progress,
	// which is replayed idempotently.
	CommitInterval time.Duration
	// SessionTimeout is how long the group waits for a silent member (one
	// killed without leaving) before its partitions move.
	SessionTimeout time.Duration
}

// NewReader returns a consumer-group reader. It starts a new group at the
// first offset, since the view is built from the whole topic, and commits
// only what CommitMessages names (never on fetch). Close it to leave the
// group, so its partitions move to another instance at once.
func NewReader(cfg ReaderConfig, log *slog.Logger) *kafka.Reader {
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers:     cfg.Brokers,
		Topic:       cfg.Topic,
		GroupID:     cfg.Group,
		StartOffset: kafka.FirstOffset,
		MinBytes:    1,
		MaxBytes:    10 << 20,
		// A long poll ends as soon as a record arrives; a short one is cut
		// by kafka-go before a busy broker answers, and the partition
		// reconnects ("i/o timeout"; docs/decisions.md, Kafka long polls).
		MaxWait:               5 * time.Second,
		CommitInterval:        cfg.CommitInterval,
		SessionTimeout:        cfg.SessionTimeout,
		WatchPartitionChanges: true,
		Logger: kafka.LoggerFunc(func(msg string, args ...any) {
			// kafka-go is chatty: format only when debug is on.
			if log.Enabled(context.Background(), slog.LevelDebug) {
				log.Debug(fmt.Sprintf(msg, args...), "component", "kafka")
			}
		}),
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			log.Warn(fmt.Sprintf(msg, args...), "component", "kafka")
		}),
	})
}
