package consumer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/services/fanout/internal/view"
)

// Reader is the part of *kafka.Reader the consumer uses.
type Reader interface {
	FetchMessage(ctx context.Context) (kafka.Message, error)
	CommitMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Views applies events to the campaign view; *view.Store is one.
type Views interface {
	Apply(ctx context.Context, e *campaignv1.Event, pos cursor.Position) (view.Result, error)
}

// Publisher pushes deliveries to gateways; *hub.Hub is one.
type Publisher interface {
	Publish(ctx context.Context, d *campaignv1.Delivery) error
}

// Consumer applies the topic to the view and pushes each event to the
// gateways that watch its campaign.
type Consumer struct {
	reader Reader
	views  Views
	hub    Publisher
	epoch  uint32
	log    *slog.Logger
	// retryMax caps the wait between attempts to apply an event.
	retryMax time.Duration
}

// New returns a consumer reading r. Positions carry epoch (CURSOR_EPOCH).
func New(r Reader, views Views, hub Publisher, epoch uint32, log *slog.Logger) *Consumer {
	return &Consumer{reader: r, views: views, hub: hub, epoch: epoch, log: log, retryMax: 5 * time.Second}
}

// Run consumes until ctx ends, then returns nil. For each record, in order:
// decode, apply (committed to Postgres), publish to the hub, and only then
// mark the record consumed, so a crash anywhere replays it. A failed fetch
// (the broker away) is retried with backoff: the reader heals by itself. It
// returns an error only when the reader is closed or a commit fails.
func (c *Consumer) Run(ctx context.Context) error {
	wait := 100 * time.Millisecond
	for {
		m, err := c.reader.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("fetch: reader closed: %w", err)
			}
			// The reader heals by itself (the broker restarting, the group
			// coordinator moving); it only reports each failed attempt.
			c.log.Warn("fetch failed, retrying", "retry_in", wait.String(), "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
			wait = min(2*wait, c.retryMax)
			continue
		}
		wait = 100 * time.Millisecond
		if err := c.handle(ctx, m); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := c.reader.CommitMessages(ctx, m); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("commit offset: %w", err)
		}
	}
}

// handle returns only ctx's error: every other failure is retried or, for a
// record that can never apply, logged and skipped so it cannot wedge its
// partition.
func (c *Consumer) handle(ctx context.Context, m kafka.Message) error {
	e, err := event.Unmarshal(m.Value)
	if err != nil {
		// Never the bytes: a record can carry anything.
		c.log.Error("skipping undecodable record", "partition", m.Partition, "offset", m.Offset, "err", err)
		return nil
	}
	pos := cursor.Position{Epoch: c.epoch, Partition: int32(m.Partition), Offset: m.Offset}
	res, err := c.apply(ctx, e, pos)
	if errors.Is(err, event.ErrInvalid) {
		c.log.Error("skipping event that cannot apply", "partition", m.Partition, "offset", m.Offset,
			"campaign_id", e.GetCampaignId(), "event_id", e.GetId(), "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	if res.NewEpoch {
		c.log.Warn("partition log began again: new cursor epoch", "partition", m.Partition, "offset", m.Offset,
			"epoch", res.Position.Epoch, "event_id", e.GetId())
	}
	if res.Duplicate {
		c.log.Debug("duplicate event", "campaign_id", e.GetCampaignId(), "event_id", e.GetId(),
			"partition", m.Partition, "offset", m.Offset)
	}
	// A duplicate is pushed too: whoever applied it first may have died
	// between its commit and its push. Gateways drop what they have by
	// position.
	if res.Delivery != nil {
		return c.hub.Publish(ctx, res.Delivery.PB())
	}
	return nil
}

// apply retries transient failures (the database restarting) with backoff
// until ctx ends: skipping would lose the event.
func (c *Consumer) apply(ctx context.Context, e *campaignv1.Event, pos cursor.Position) (view.Result, error) {
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		res, err := c.views.Apply(ctx, e, pos)
		if err == nil || errors.Is(err, event.ErrInvalid) || ctx.Err() != nil {
			return res, err
		}
		c.log.Warn("apply failed, retrying", "campaign_id", e.GetCampaignId(), "event_id", e.GetId(),
			"attempt", attempt, "retry_in", wait.String(), "err", err)
		select {
		case <-ctx.Done():
			return view.Result{}, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, c.retryMax)
	}
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
		Brokers:               cfg.Brokers,
		Topic:                 cfg.Topic,
		GroupID:               cfg.Group,
		StartOffset:           kafka.FirstOffset,
		MinBytes:              1,
		MaxBytes:              10 << 20,
		MaxWait:               500 * time.Millisecond,
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
