package view

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/pkg/event"
)

// History is what a campaign's recent history holds after a position.
type History struct {
	// Found is false until the campaign's own event has been applied.
	Found bool
	// Complete reports that Deliveries are every event of the campaign
	// after the position asked for; see Complete.
	Complete bool
	// Deliveries are the events after the position, in position order,
	// without those that have no frame (campaign events). Empty unless
	// Complete.
	Deliveries []*Delivery
	// Position is the view's position when history was read.
	Position cursor.Position
	// Private and OwnerID let a caller decide who may see the events.
	Private bool
	OwnerID int64
}

// Complete reports whether a campaign's history, pruned up to horizon (zero
// when never pruned), holds every event after `after`, given the position
// view the campaign's view reflects. It is so when after is a position the
// campaign can have had (same epoch and partition as the view, not past
// it), and nothing after it was pruned. A cursor of an earlier epoch is not
// resumed: the log it points into is gone.
func Complete(after, view, horizon cursor.Position) bool {
	if view.Zero() || after.Epoch != view.Epoch || after.Partition != view.Partition {
		return false
	}
	return !view.Less(after) && !after.Less(horizon)
}

// History reads campaignID's events after `after` from recent history, in
// one snapshot of the database, so the completeness it reports is exact. At
// most limit deliveries are returned: a longer history is reported
// incomplete, since a snapshot then costs the client less.
func (s *Store) History(ctx context.Context, campaignID int64, after cursor.Position, limit int) (History, error) {
	var h History
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		h = History{}
		var (
			campaign          []byte
			viewEpoch, hEpoch int64
			horizon           cursor.Position
		)
		err := tx.QueryRow(ctx, `
			SELECT v.campaign, v.pos_epoch, v.pos_partition, v.pos_offset,
				coalesce(z.pos_epoch, 0), coalesce(z.pos_partition, 0), coalesce(z.pos_offset, 0)
			FROM campaign_view v LEFT JOIN history_horizon z ON z.campaign_id = v.campaign_id
			WHERE v.campaign_id = $1`, campaignID).
			Scan(&campaign, &viewEpoch, &h.Position.Partition, &h.Position.Offset,
				&hEpoch, &horizon.Partition, &horizon.Offset)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read view position: %w", err)
		}
		if campaign == nil {
			return nil
		}
		h.Position.Epoch, horizon.Epoch = uint32(viewEpoch), uint32(hEpoch)
		var c event.CampaignData
		if err := json.Unmarshal(campaign, &c); err != nil {
			return fmt.Errorf("decode campaign %d: %w", campaignID, err)
		}
		h.Found, h.Private, h.OwnerID = true, c.Private, c.Owner.ID
		if !Complete(after, h.Position, horizon) {
			return nil
		}
		rows, err := tx.Query(ctx, `
			SELECT event_id, event_type, pos_epoch, pos_partition, pos_offset, frame, occurred_at
			FROM history
			WHERE campaign_id = $1 AND (pos_epoch, pos_partition, pos_offset) > ($2, $3, $4)
			ORDER BY pos_epoch, pos_partition, pos_offset
			LIMIT $5`,
			campaignID, int64(after.Epoch), after.Partition, after.Offset, limit+1)
		if err != nil {
			return fmt.Errorf("read history: %w", err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			n++
			d := &Delivery{CampaignID: campaignID}
			var epoch int64
			if err := rows.Scan(&d.EventID, &d.EventType, &epoch, &d.Position.Partition, &d.Position.Offset,
				&d.Frame, &d.OccurredAt); err != nil {
				return fmt.Errorf("read history: %w", err)
			}
			d.Position.Epoch = uint32(epoch)
			if d.Frame != nil {
				h.Deliveries = append(h.Deliveries, d)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read history: %w", err)
		}
		if n > limit {
			h.Deliveries = nil
			return nil
		}
		h.Complete = true
		return nil
	})
	if err != nil {
		return History{}, fmt.Errorf("history of campaign %d: %w", campaignID, err)
	}
	return h, nil
}

// Retention is how much of its history and of its dedupe the view keeps.
type Retention struct {
	// HistoryEvents and HistoryAge bound each campaign's history: it keeps
	// its newest HistoryEvents events and those applied within HistoryAge.
	HistoryEvents int
	HistoryAge    time.Duration
	// SeenAge is how long an applied event id stays in event_seen, the
	// dedupe; zero keeps ids forever. It must be longer than a record
	// stays readable in the topic: retention.ms + segment.ms, and a
	// margin (see pruneSeen).
	SeenAge time.Duration
	// BatchRows is about the most rows one transaction deletes, and
	// BatchCampaigns the most campaigns one transaction counts; zero means
	// DefaultBatchRows and DefaultBatchCampaigns.
	BatchRows, BatchCampaigns int
}

const (
	// DefaultBatchRows keeps a prune transaction to a few MB of WAL and
	// well under a second.
	DefaultBatchRows = 10_000
	// DefaultBatchCampaigns bounds the campaigns counted in one statement:
	// each costs a walk of up to HistoryEvents+1 index entries.
	DefaultBatchCampaigns = 1_000
	// countOverlap is how far before its previous round a round looks for
	// campaigns written since. A history row's applied_at is when its
	// transaction began, and the row is visible only from its commit: a
	// row whose transaction took less than this (an apply takes
	// milliseconds) is never missed.
	countOverlap = 30 * time.Second
)

// Pruned is what one round of pruning did.
type Pruned struct {
	// ByAge and ByCount are the history rows deleted by each bound.
	ByAge, ByCount int64
	// Counted is how many campaigns had their count checked.
	Counted int
	// Seen is the event_seen rows deleted.
	Seen int64
	// Transactions is how many deleting statements it ran, each a
	// transaction of its own.
	Transactions int
}

// A Pruner bounds the view's history and its dedupe. Its count bound only
// looks at campaigns written since its previous round (all of them in its
// first), so a round costs about the rows it deletes plus the campaigns
// written since, not the size of the tables. A campaign not written since
// has been counted already and has no more than HistoryEvents rows, unless
// its bound missed it (an apply transaction that took longer than
// countOverlap); such a campaign keeps its extra rows until it is written
// to again, they age out, or the fanout restarts.
//
// A Pruner is safe for concurrent use; its rounds run one at a time.
// Pruners of several fanout instances may run at once: each statement
// raises horizons only upwards and deletes only below them.
type Pruner struct {
	pool *pgxpool.Pool
	r    Retention

	mu sync.Mutex
	// since is where the next round's count looks from: when the last
	// successful round began, less countOverlap (Postgres' clock, as
	// applied_at). Zero until then: count every campaign.
	since time.Time
}

// NewPruner returns a Pruner of s's tables that has not pruned yet.
func NewPruner(s *Store, r Retention) *Pruner {
	if r.BatchRows <= 0 {
		r.BatchRows = DefaultBatchRows
	}
	if r.BatchCampaigns <= 0 {
		r.BatchCampaigns = DefaultBatchCampaigns
	}
	return &Pruner{pool: s.pool, r: r}
}

// Prune runs one round: history by age, history by count, then
// event_seen by age. Each transaction deletes, per campaign, a prefix of
// its history by position, never a row in the middle, and raises the
// campaign's horizon (history_horizon) to the highest position deleted,
// so Complete stays exact. A failed round keeps what its transactions
// committed, and the next round counts from where this one would have.
func (p *Pruner) Prune(ctx context.Context) (Pruned, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var done Pruned
	var began time.Time
	if err := p.pool.QueryRow(ctx, `SELECT now()`).Scan(&began); err != nil {
		return done, fmt.Errorf("prune: read the clock: %w", err)
	}
	if err := p.pruneByAge(ctx, &done); err != nil {
		return done, fmt.Errorf("prune history by age: %w", err)
	}
	if err := p.pruneByCount(ctx, &done); err != nil {
		return done, fmt.Errorf("prune history by count: %w", err)
	}
	p.since = began.Add(-countOverlap)
	if err := p.pruneSeen(ctx, &done); err != nil {
		return done, fmt.Errorf("prune event_seen: %w", err)
	}
	return done, nil
}

// The prune statements each choose rows to go, `picked`: a prefix of each
// campaign's history by position, or rows from within one. sqlCut ends
// them: per campaign it deletes every row up to the highest position
// picked and raises the horizon to it, in the same statement and so the
// same transaction, and returns how many rows were picked and deleted. A
// campaign's new rows are always above its view, so above any cut.
const (
	sqlCut = `
		cuts AS (
			SELECT DISTINCT ON (campaign_id) campaign_id, pos_epoch, pos_partition, pos_offset
			FROM picked
			ORDER BY campaign_id, pos_epoch DESC, pos_partition DESC, pos_offset DESC
		), raised AS (
			INSERT INTO history_horizon AS z (campaign_id, pos_epoch, pos_partition, pos_offset)
			SELECT campaign_id, pos_epoch, pos_partition, pos_offset FROM cuts
			ON CONFLICT (campaign_id) DO UPDATE
				SET pos_epoch = EXCLUDED.pos_epoch, pos_partition = EXCLUDED.pos_partition, pos_offset = EXCLUDED.pos_offset
				WHERE (EXCLUDED.pos_epoch, EXCLUDED.pos_partition, EXCLUDED.pos_offset)
					> (z.pos_epoch, z.pos_partition, z.pos_offset)
		), gone AS (
			DELETE FROM history h USING cuts c
			WHERE h.campaign_id = c.campaign_id
				AND (h.pos_epoch, h.pos_partition, h.pos_offset) <= (c.pos_epoch, c.pos_partition, c.pos_offset)
			RETURNING 1
		)
		SELECT (SELECT count(*) FROM picked), (SELECT count(*) FROM gone)`
	// The $2 oldest rows older than $1 seconds, by history_by_applied_at.
	// Within a campaign applied_at and position grow together (but for
	// the moments between an apply's begin and its lock), so the cut
	// rarely takes more rows than were picked.
	sqlPruneByAge = `
		WITH picked AS (
			SELECT campaign_id, pos_epoch, pos_partition, pos_offset
			FROM history
			WHERE applied_at < now() - make_interval(secs => $1)
			ORDER BY applied_at
			LIMIT $2
		), ` + sqlCut
	// Of each campaign of $1, the rows beyond its $2 newest: the cut is
	// its ($2+1)-th newest row, found by walking history_by_position
	// backwards; what goes is read forwards from the oldest, at most $3
	// rows for the statement.
	sqlPruneByCount = `
		WITH picked AS (
			SELECT d.campaign_id, d.pos_epoch, d.pos_partition, d.pos_offset
			FROM unnest($1::bigint[]) AS c(campaign_id)
			CROSS JOIN LATERAL (
				SELECT pos_epoch, pos_partition, pos_offset
				FROM history h
				WHERE h.campaign_id = c.campaign_id
				ORDER BY pos_epoch DESC, pos_partition DESC, pos_offset DESC
				OFFSET $2 LIMIT 1
			) AS k
			CROSS JOIN LATERAL (
				SELECT campaign_id, pos_epoch, pos_partition, pos_offset
				FROM history h
				WHERE h.campaign_id = c.campaign_id
					AND (h.pos_epoch, h.pos_partition, h.pos_offset) <= (k.pos_epoch, k.pos_partition, k.pos_offset)
				ORDER BY pos_epoch, pos_partition, pos_offset
				LIMIT $3
			) AS d
			LIMIT $3
		), ` + sqlCut
	// The campaigns written since $1, by history_by_applied_at.
	sqlWrittenSince  = `SELECT DISTINCT campaign_id FROM history WHERE applied_at >= $1 ORDER BY campaign_id`
	sqlEveryCampaign = `SELECT campaign_id FROM campaign_view ORDER BY campaign_id`
	// At most $2 event ids applied more than $1 seconds ago, by
	// event_seen_by_applied_at, deleted by their row addresses.
	sqlPruneSeen = `
		DELETE FROM event_seen
		WHERE ctid = ANY(ARRAY(
			SELECT ctid FROM event_seen
			WHERE applied_at < now() - make_interval(secs => $1)
			ORDER BY applied_at
			LIMIT $2))`
)

// cut runs one prune statement, a transaction of its own.
func (p *Pruner) cut(ctx context.Context, done *Pruned, sql string, args ...any) (picked, deleted int64, err error) {
	if err := p.pool.QueryRow(ctx, sql, args...).Scan(&picked, &deleted); err != nil {
		return 0, 0, err
	}
	done.Transactions++
	return picked, deleted, nil
}

// pruneByAge deletes the history older than HistoryAge, BatchRows at a
// time, oldest first. It touches only those rows.
func (p *Pruner) pruneByAge(ctx context.Context, done *Pruned) error {
	for {
		picked, deleted, err := p.cut(ctx, done, sqlPruneByAge, p.r.HistoryAge.Seconds(), p.r.BatchRows)
		if err != nil {
			return err
		}
		done.ByAge += deleted
		if picked < int64(p.r.BatchRows) {
			return nil
		}
	}
}

// pruneByCount cuts each campaign written since the last round to its
// newest HistoryEvents events, BatchCampaigns campaigns and about
// BatchRows rows per transaction.
func (p *Pruner) pruneByCount(ctx context.Context, done *Pruned) error {
	var (
		rows pgx.Rows
		err  error
	)
	if p.since.IsZero() {
		rows, err = p.pool.Query(ctx, sqlEveryCampaign)
	} else {
		rows, err = p.pool.Query(ctx, sqlWrittenSince, p.since)
	}
	if err != nil {
		return fmt.Errorf("find campaigns: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("find campaigns: %w", err)
	}
	for len(ids) > 0 {
		batch := ids[:min(len(ids), p.r.BatchCampaigns)]
		picked, deleted, err := p.cut(ctx, done, sqlPruneByCount, batch, p.r.HistoryEvents, p.r.BatchRows)
		if err != nil {
			return err
		}
		done.ByCount += deleted
		if picked < int64(p.r.BatchRows) {
			// Else the batch had more to delete than one transaction
			// may: count it again.
			done.Counted += len(batch)
			ids = ids[len(batch):]
		}
	}
	return nil
}

// pruneSeen deletes the event ids applied more than SeenAge ago, BatchRows
// at a time. The dedupe stands against three repeats of a record: the
// outbox publishing an event twice (seconds apart), a redelivery after a
// crash or rebalance (from the last committed offset), and a replay of
// the topic (a consumer group reset). Each reads a record still in the
// topic, and an id missing from event_seen would be applied again, in a
// new epoch when its offset is at or below its partition's high offset.
// A record stays readable until its segment, rolled at most segment.ms
// after the segment's first record, is older than retention.ms (checked
// every log.retention.check.interval.ms): with Kafka's defaults, 14 days
// and 5 minutes after the record's timestamp. An event is applied after
// it was published, so once SeenAge, longer than retention.ms +
// segment.ms with a margin, has passed since it was applied, its record
// can no longer be read, and forgetting its id is safe.
func (p *Pruner) pruneSeen(ctx context.Context, done *Pruned) error {
	if p.r.SeenAge <= 0 {
		return nil
	}
	for {
		tag, err := p.pool.Exec(ctx, sqlPruneSeen, p.r.SeenAge.Seconds(), p.r.BatchRows)
		if err != nil {
			return err
		}
		done.Transactions++
		done.Seen += tag.RowsAffected()
		if tag.RowsAffected() < int64(p.r.BatchRows) {
			return nil
		}
	}
}

// Run prunes every interval until ctx ends, logging at debug what each
// round did and warning of what failed (the next round tries again).
func (p *Pruner) Run(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		d, err := p.Prune(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Warn("prune failed", "err", err, "history_rows", d.ByAge+d.ByCount, "event_seen_rows", d.Seen)
		default:
			log.Debug("pruned", "history_by_age", d.ByAge, "history_by_count", d.ByCount,
				"campaigns_counted", d.Counted, "event_seen_rows", d.Seen,
				"transactions", d.Transactions, "took", time.Since(start).String())
		}
	}
}
