package view

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

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

// Prune bounds every campaign's history: it keeps the newest maxEvents
// events and those applied within maxAge, and deletes the rest. For each
// campaign it deletes a prefix by position, never a row in the middle, and
// raises the campaign's horizon (history_horizon) to the highest position
// deleted, in the same transaction, so Complete stays exact. It returns how
// many rows it deleted.
func (s *Store) Prune(ctx context.Context, maxEvents int, maxAge time.Duration) (int64, error) {
	var deleted int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The cut of a campaign is its newest row that is beyond the count
		// or the age: it and everything before it go.
		if _, err := tx.Exec(ctx, `
			WITH ranked AS (
				SELECT campaign_id, pos_epoch, pos_partition, pos_offset, applied_at,
					row_number() OVER (PARTITION BY campaign_id
						ORDER BY pos_epoch DESC, pos_partition DESC, pos_offset DESC) AS rn
				FROM history
			), cuts AS (
				SELECT DISTINCT ON (campaign_id) campaign_id, pos_epoch, pos_partition, pos_offset
				FROM ranked
				WHERE rn > $1 OR applied_at < now() - make_interval(secs => $2)
				ORDER BY campaign_id, pos_epoch DESC, pos_partition DESC, pos_offset DESC
			)
			INSERT INTO history_horizon AS z (campaign_id, pos_epoch, pos_partition, pos_offset)
			SELECT campaign_id, pos_epoch, pos_partition, pos_offset FROM cuts
			ON CONFLICT (campaign_id) DO UPDATE
				SET pos_epoch = EXCLUDED.pos_epoch, pos_partition = EXCLUDED.pos_partition, pos_offset = EXCLUDED.pos_offset
				WHERE (EXCLUDED.pos_epoch, EXCLUDED.pos_partition, EXCLUDED.pos_offset)
					> (z.pos_epoch, z.pos_partition, z.pos_offset)`,
			maxEvents, maxAge.Seconds()); err != nil {
			return fmt.Errorf("raise history horizons: %w", err)
		}
		tag, err := tx.Exec(ctx, `
			DELETE FROM history h USING history_horizon z
			WHERE h.campaign_id = z.campaign_id
				AND (h.pos_epoch, h.pos_partition, h.pos_offset) <= (z.pos_epoch, z.pos_partition, z.pos_offset)`)
		if err != nil {
			return fmt.Errorf("delete pruned history: %w", err)
		}
		deleted = tag.RowsAffected()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune history: %w", err)
	}
	return deleted, nil
}

// PruneEvery runs Prune every interval until ctx ends, logging what it did
// and what failed (the next round tries again).
func (s *Store) PruneEvery(ctx context.Context, interval time.Duration, maxEvents int, maxAge time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := s.Prune(ctx, maxEvents, maxAge)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Warn("history prune failed", "err", err)
		case n > 0:
			log.Debug("history pruned", "rows", n)
		}
	}
}
