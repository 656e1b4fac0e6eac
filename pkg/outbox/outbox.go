package outbox

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/trace"

	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/pkg/pgdb"
	"github.com/campaign-live/campaign-live/pkg/telemetry"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the outbox table's migration set, to apply beside a
// service's own.
func Migrations() pgdb.Migrations {
	return pgdb.Embedded(migrations, "outbox_schema_version")
}

const channel = "outbox"

// Enqueue adds e to the outbox in tx, and a notification that wakes the
// relay when tx commits. It is for events written inside another's
// transaction (a consumer's); Write and One.Write, which commit themselves,
// wake the relay after their commit instead (see notify.go).
func Enqueue(ctx context.Context, tx pgx.Tx, e *campaignv1.Event, traceparent string) error {
	if err := insert(ctx, tx, e, traceparent); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, '')`, channel); err != nil {
		return fmt.Errorf("notify outbox: %w", err)
	}
	return nil
}

func insert(ctx context.Context, tx pgx.Tx, e *campaignv1.Event, traceparent string) error {
	r, err := newRow(e, traceparent)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx,
		`INSERT INTO outbox (campaign_id, event_id, event_type, payload, traceparent) VALUES ($1, $2, $3, $4, $5)`,
		r...); err != nil {
		return fmt.Errorf("insert outbox row: %w", err)
	}
	return nil
}

// newRow is e's outbox row: campaign_id, event_id, event_type, payload,
// traceparent.
func newRow(e *campaignv1.Event, traceparent string) ([]any, error) {
	payload, err := event.Marshal(e)
	if err != nil {
		return nil, err
	}
	return []any{e.GetCampaignId(), e.GetId(), e.GetType(), payload, traceparent}, nil
}

// One is a statement that writes a row of the caller's and, if and only if
// the row was inserted, its event: one round trip and one implicit
// transaction where Write takes four (BEGIN, the row, the outbox row,
// COMMIT). The event must therefore be known before the insert, ids
// included. Build it once with NewOne.
type One struct {
	sql  string
	args int
}

// NewOne wraps insert, one INSERT … RETURNING statement with the
// placeholders $1…$args, so that it also enqueues an event. When insert
// inserts nothing (a WHERE or an ON CONFLICT DO NOTHING of its own), nothing
// is enqueued.
func NewOne(insert string, args int) One {
	// A data-modifying WITH runs to completion whatever the outer query
	// reads; the outbox row is inserted only for a row insert returned.
	return One{args: args, sql: fmt.Sprintf(`WITH written AS (%s),
		queued AS (
			INSERT INTO outbox (campaign_id, event_id, event_type, payload, traceparent)
			SELECT $%d, $%d, $%d, $%d, $%d FROM (SELECT 1 FROM written LIMIT 1) w
			RETURNING id)
		SELECT count(*) FROM queued`,
		insert, args+1, args+2, args+3, args+4, args+5)}
}

// Write runs the statement with insert's args and e's outbox row, and
// reports whether the row was inserted (and e enqueued).
func (o One) Write(ctx context.Context, pool *pgxpool.Pool, args []any, e *campaignv1.Event) (inserted bool, err error) {
	if len(args) != o.args {
		return false, fmt.Errorf("write with outbox row: %d args, the statement takes %d", len(args), o.args)
	}
	r, err := newRow(e, traceparent(ctx))
	if err != nil {
		return false, err
	}
	var count int
	if err := pool.QueryRow(ctx, o.sql, slices.Concat(args, r)...).Scan(&count); err != nil {
		return false, fmt.Errorf("write with outbox row: %w", err)
	}
	if count == 1 {
		wake(pool)
	}
	return count == 1, nil
}

// Publisher writes messages and returns once the broker acknowledged them.
// *kafka.Writer is one; on a partial failure it returns kafka.WriteErrors.
type Publisher interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Relay publishes a service's outbox. The zero value is not usable: set Pool,
// Publisher, Name and Log.
type Relay struct {
	Pool      *pgxpool.Pool
	Publisher Publisher
	// Name identifies the service; its relays share one advisory lock.
	Name string
	// Topic names the destination in producer spans.
	Topic string
	Log   *slog.Logger
	// Batch is the most rows published at once (default 256).
	Batch int
	// Poll bounds the wait for a notification (default 1s), and is how often
	// a standby relay tries to take the lead.
	Poll time.Duration
}

// Run publishes until ctx ends. It returns nil on cancellation; other errors
// are retried with backoff, so Run only returns when ctx ends.
func (r *Relay) Run(ctx context.Context) error {
	if r.Batch <= 0 {
		r.Batch = 256
	}
	if r.Poll <= 0 {
		r.Poll = time.Second
	}
	backoff := 100 * time.Millisecond
	for {
		err := r.lead(ctx)
		if ctx.Err() != nil {
			return nil
		}
		r.Log.Warn("outbox relay lost the lead", "err", err, "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (r *Relay) lockKey() int64 {
	h := fnv.New64a()
	h.Write([]byte("campaign-live outbox " + r.Name))
	return int64(h.Sum64() >> 1)
}

// lead takes the advisory lock on a dedicated connection, then publishes
// until ctx ends or the connection fails.
func (r *Relay) lead(ctx context.Context) error {
	pc, err := r.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	conn := pc.Hijack()
	defer conn.Close(context.Background())

	for standby := false; ; standby = true {
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, r.lockKey()).Scan(&ok); err != nil {
			return fmt.Errorf("try advisory lock: %w", err)
		}
		if ok {
			break
		}
		if !standby {
			r.Log.Info("outbox relay standing by: another replica leads")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(r.Poll):
		}
	}
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	r.Log.Info("outbox relay leading")

	lctx, cancel := context.WithCancel(ctx)
	wake := make(chan struct{}, 1)
	lost := make(chan error, 1)
	go func() {
		for {
			if _, err := conn.WaitForNotification(lctx); err != nil {
				lost <- err
				return
			}
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	}()
	defer func() { cancel(); <-lost }()

	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-lost:
			lost <- err // for the deferred receive
			return fmt.Errorf("lock connection: %w", err)
		case <-wake:
		case <-timer.C:
		}
		if err := r.drain(ctx); err != nil {
			return err
		}
		timer.Reset(r.Poll)
	}
}

// drain publishes batches until the outbox is empty. The rows of a batch
// are deleted by the statement that reads the next one, so a busy relay
// spends one round trip per batch on Postgres, and the read that finds the
// outbox empty deletes the last batch's rows.
func (r *Relay) drain(ctx context.Context) error {
	var published []int64
	for {
		batch, err := r.next(ctx, published)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		if published, err = r.publish(ctx, batch); err != nil {
			// Delete what the broker took before retrying the rest; if
			// this fails too they are published again, which consumers
			// deduplicate by event id.
			if len(published) > 0 {
				if _, derr := r.Pool.Exec(ctx, `DELETE FROM outbox WHERE id = ANY($1)`, published); derr != nil {
					r.Log.Warn("outbox relay could not delete published rows", "rows", len(published), "err", derr)
				}
			}
			return err
		}
	}
}

type row struct {
	id  int64
	msg kafka.Message
}

// next deletes the rows published (acknowledged by the broker) and reads
// the next batch, in one round trip and one transaction. The transaction
// does not wait for its WAL flush: a delete lost in a crash only publishes
// its rows again, which at-least-once delivery allows.
func (r *Relay) next(ctx context.Context, published []int64) ([]row, error) {
	if published == nil {
		published = []int64{}
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT ` + asyncCommit)
	var batch []row
	b.Queue(`
		WITH published AS (DELETE FROM outbox WHERE id = ANY($1))
		SELECT id, campaign_id, event_type, payload, traceparent, created_at FROM outbox
		WHERE id <> ALL($1) ORDER BY id LIMIT $2`, published, r.Batch).Query(func(rows pgx.Rows) error {
		var err error
		batch, err = pgx.CollectRows(rows, scanRow)
		return err
	})
	// A batch outside a transaction runs as one implicit transaction.
	if err := r.Pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("delete published rows and read the outbox: %w", err)
	}
	return batch, nil
}

func scanRow(rs pgx.CollectableRow) (row, error) {
	var (
		rw         row
		campaignID int64
		typ, tp    string
		payload    []byte
		createdAt  time.Time
	)
	if err := rs.Scan(&rw.id, &campaignID, &typ, &payload, &tp, &createdAt); err != nil {
		return rw, err
	}
	rw.msg = kafka.Message{Key: event.Key(campaignID), Value: payload, Time: createdAt,
		Headers: []kafka.Header{{Key: event.HeaderType, Value: []byte(typ)}, {Key: event.HeaderTraceparent, Value: []byte(tp)}}}
	return rw, nil
}

// publish sends batch and returns the ids the broker acknowledged: all of
// them, or on a partial failure the ones it took, with the error.
func (r *Relay) publish(ctx context.Context, batch []row) ([]int64, error) {
	msgs := make([]kafka.Message, len(batch))
	spans := make([]trace.Span, len(batch))
	for i, rw := range batch {
		msgs[i], spans[i] = r.startPublish(ctx, rw.msg)
	}
	werr := r.Publisher.WriteMessages(ctx, msgs...)
	endPublish(spans, werr)
	done := make([]int64, 0, len(batch))
	var perMsg kafka.WriteErrors
	switch {
	case werr == nil:
		for _, rw := range batch {
			done = append(done, rw.id)
		}
		return done, nil
	case errors.As(werr, &perMsg) && len(perMsg) == len(batch):
		// Keep what the broker acknowledged; retry the rest.
		for i, rw := range batch {
			if perMsg[i] == nil {
				done = append(done, rw.id)
			}
		}
	}
	return done, fmt.Errorf("publish %d events (%d acknowledged): %w", len(batch), len(done), werr)
}

// Write runs fn in a transaction and enqueues the events it returns in the
// same transaction: the rows fn writes and their events commit together or
// not at all.
func Write(ctx context.Context, pool *pgxpool.Pool, fn func(tx pgx.Tx) ([]*campaignv1.Event, error)) error {
	queued := false
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		events, err := fn(tx)
		if err != nil {
			return err
		}
		for _, e := range events {
			if err := insert(ctx, tx, e, traceparent(ctx)); err != nil {
				return err
			}
		}
		queued = len(events) > 0
		return nil
	})
	if err == nil && queued {
		wake(pool)
	}
	return err
}

func traceparent(ctx context.Context) string { return telemetry.Traceparent(ctx) }
