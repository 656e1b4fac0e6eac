package view

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/money"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/pkg/pgdb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the view's migration set.
func Migrations() pgdb.Migrations {
	sub, _ := fs.Sub(migrations, "migrations")
	return pgdb.Migrations{Table: "fanout_schema_version", FS: sub}
}

// Store is the campaign view in Postgres. It is safe for concurrent use.
type Store struct {
	pool   *pgxpool.Pool
	recent int
}

// NewStore returns the view over pool, keeping the recent most items of each
// list.
func NewStore(pool *pgxpool.Pool, recent int) *Store {
	return &Store{pool: pool, recent: recent}
}

// Delivery is one applied event as gateways receive it.
type Delivery struct {
	CampaignID int64
	Position   cursor.Position
	EventType  string
	EventID    string
	// Frame is the browser's text frame, rendered once for every watcher.
	Frame      []byte
	OccurredAt time.Time
}

// PB converts d to the wire message.
func (d *Delivery) PB() *campaignv1.Delivery {
	return &campaignv1.Delivery{
		CampaignId: d.CampaignID, Position: d.Position.PB(), EventType: d.EventType,
		EventId: d.EventID, Frame: d.Frame, OccurredAtUnixNano: d.OccurredAt.UnixNano(),
	}
}

// Result is what applying one event did.
type Result struct {
	// Duplicate is set when the event had been applied before, at this
	// position (a redelivery) or at another one (published twice); the view
	// did not change but for the position it reflects.
	Duplicate bool
	// Position is where the event was applied: the offset read, in the
	// partition's current epoch.
	Position cursor.Position
	// NewEpoch is set when this event started a new epoch of its partition:
	// it was new, yet its offset was not past what the partition had
	// applied, so the partition's log began again (the topic was recreated).
	NewEpoch bool
	// Delivery is what to push to gateways, nil for campaign events. For a
	// duplicate it is the frame and position stored when the event was first
	// applied, so gateways recognise it by position.
	Delivery *Delivery
}

// listColumn names the campaign_view column each event type adds to. The
// names are constants, never input, so they may be formatted into SQL.
var listColumn = map[string]string{
	event.TypeCampaign:     "'[]'::json",
	event.TypeContribution: "contributions",
	event.TypeUpdate:       "updates",
	event.TypeComment:      "comments",
	event.TypeRelease:      "releases",
	event.TypeMilestone:    "milestones",
}

// Apply applies e, read at partition at.Partition and offset at.Offset, to
// the view in one transaction: it records the event id (deduplicating),
// decides the position's epoch, keeps the event's frame in history, changes
// the view and stores the position the view reflects. at.Epoch is the
// lowest epoch to use (CURSOR_EPOCH); the partition's stored epoch is used
// when higher, and goes up when the partition's log is found to have begun
// again (see Result.NewEpoch). Ids seen before are duplicates: the view is
// left as it was.
//
// An error wrapping event.ErrInvalid means e can never be applied; any other
// error is worth retrying.
func (s *Store) Apply(ctx context.Context, e *campaignv1.Event, at cursor.Position) (Result, error) {
	col, ok := listColumn[e.GetType()]
	if !ok {
		return Result{}, fmt.Errorf("%w: type %q", event.ErrInvalid, e.GetType())
	}
	data, err := event.Data(e)
	if err != nil {
		return Result{}, err
	}
	item, err := json.Marshal(data)
	if err != nil {
		return Result{}, fmt.Errorf("encode %s: %w", e.GetType(), err)
	}
	var amount string
	if c := e.GetContribution(); c != nil {
		if amount, err = money.ParseAmount(c.GetAmount()); err != nil {
			return Result{}, fmt.Errorf("%w: contribution amount %q: %v", event.ErrInvalid, c.GetAmount(), err)
		}
	}

	var res Result
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		res = Result{}
		// Lock order, always: the partition's row, then the campaign's.
		part, err := lockPartition(ctx, tx, at)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO event_seen (event_id) VALUES ($1) ON CONFLICT (event_id) DO NOTHING`, e.GetId())
		if err != nil {
			return fmt.Errorf("record event id: %w", err)
		}
		fresh := tag.RowsAffected() == 1
		if fresh && at.Offset <= part.high {
			// A new event where this partition has applied already: its
			// log began again.
			part.epoch++
			res.NewEpoch = true
		}
		pos := cursor.Position{Epoch: part.epoch, Partition: at.Partition, Offset: at.Offset}

		// The no-op update locks the row (and creates it for a campaign's
		// first event) so concurrent owners during a rebalance serialize.
		var (
			stored cursor.Position
			epoch  int64
			recent []byte
		)
		err = tx.QueryRow(ctx, fmt.Sprintf(`
			INSERT INTO campaign_view (campaign_id) VALUES ($1)
			ON CONFLICT (campaign_id) DO UPDATE SET campaign_id = EXCLUDED.campaign_id
			RETURNING pos_epoch, pos_partition, pos_offset, %s`, col),
			e.GetCampaignId()).Scan(&epoch, &stored.Partition, &stored.Offset, &recent)
		if err != nil {
			return fmt.Errorf("lock view: %w", err)
		}
		stored.Epoch = uint32(epoch)
		if fresh && !stored.Zero() && !stored.Less(pos) {
			// A new event of this campaign that would sort before what the
			// campaign has shown: its partition changed under it (partitions
			// were added, moving keys). A new epoch keeps its cursors growing.
			part.epoch = max(part.epoch, stored.Epoch) + 1
			pos.Epoch = part.epoch
			res.NewEpoch = true
		}
		if res.NewEpoch {
			part.high = at.Offset
		} else {
			part.high = max(part.high, at.Offset)
		}
		if _, err := tx.Exec(ctx, `UPDATE partition_epoch SET epoch = $2, high_offset = $3 WHERE partition = $1`,
			at.Partition, int64(part.epoch), part.high); err != nil {
			return fmt.Errorf("update partition epoch: %w", err)
		}
		res.Position = pos

		if !fresh {
			// Applied before: a redelivery after a crash or rebalance, or
			// the outbox published it twice (then at a later position,
			// which the view now reflects).
			res.Duplicate = true
			if stored.Less(pos) {
				if err := setPosition(ctx, tx, e.GetCampaignId(), pos); err != nil {
					return err
				}
			}
			res.Delivery, err = storedDelivery(ctx, tx, e.GetId())
			return err
		}

		var d *Delivery
		if e.GetType() != event.TypeCampaign {
			frame, err := event.Frame(e, cursor.Encode(pos))
			if err != nil {
				return err
			}
			d = &Delivery{
				CampaignID: e.GetCampaignId(), Position: pos, EventType: e.GetType(), EventID: e.GetId(),
				Frame: frame, OccurredAt: e.GetOccurredAt().AsTime(),
			}
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO history (event_id, campaign_id, event_type, pos_epoch, pos_partition, pos_offset, frame, occurred_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			e.GetId(), e.GetCampaignId(), e.GetType(), int64(pos.Epoch), pos.Partition, pos.Offset,
			frameOf(d), e.GetOccurredAt().AsTime()); err != nil {
			return fmt.Errorf("insert history: %w", err)
		}

		switch e.GetType() {
		case event.TypeCampaign:
			_, err = tx.Exec(ctx, `
				UPDATE campaign_view SET campaign = $2, pos_epoch = $3, pos_partition = $4, pos_offset = $5, updated_at = now()
				WHERE campaign_id = $1`,
				e.GetCampaignId(), item, int64(pos.Epoch), pos.Partition, pos.Offset)
		case event.TypeContribution:
			list, perr := prepend(recent, item, s.recent, false)
			if perr != nil {
				return perr
			}
			_, err = tx.Exec(ctx, `
				UPDATE campaign_view SET raised_amount = raised_amount + $2::numeric, contribution_count = contribution_count + 1,
					contributions = $3, pos_epoch = $4, pos_partition = $5, pos_offset = $6, updated_at = now()
				WHERE campaign_id = $1`,
				e.GetCampaignId(), amount, list, int64(pos.Epoch), pos.Partition, pos.Offset)
		default:
			list, perr := prepend(recent, item, s.recent, e.GetType() == event.TypeMilestone)
			if perr != nil {
				return perr
			}
			_, err = tx.Exec(ctx, fmt.Sprintf(`
				UPDATE campaign_view SET %s = $2, pos_epoch = $3, pos_partition = $4, pos_offset = $5, updated_at = now()
				WHERE campaign_id = $1`, col),
				e.GetCampaignId(), list, int64(pos.Epoch), pos.Partition, pos.Offset)
		}
		if err != nil {
			return fmt.Errorf("update view: %w", err)
		}
		res.Delivery = d
		return nil
	})
	if err != nil {
		return Result{}, fmt.Errorf("apply %s event %s: %w", e.GetType(), e.GetId(), err)
	}
	return res, nil
}

// partitionState is a partition's row of partition_epoch.
type partitionState struct {
	epoch uint32
	high  int64 // highest offset applied in epoch; -1 for none
}

// lockPartition locks at.Partition's row, creating it at epoch at.Epoch. A
// floor (at.Epoch) above the stored epoch starts that epoch afresh: an
// operator raised CURSOR_EPOCH.
func lockPartition(ctx context.Context, tx pgx.Tx, at cursor.Position) (partitionState, error) {
	var (
		epoch int64
		p     partitionState
	)
	err := tx.QueryRow(ctx, `
		INSERT INTO partition_epoch (partition, epoch, high_offset) VALUES ($1, $2, -1)
		ON CONFLICT (partition) DO UPDATE SET partition = EXCLUDED.partition
		RETURNING epoch, high_offset`, at.Partition, int64(at.Epoch)).Scan(&epoch, &p.high)
	if err != nil {
		return p, fmt.Errorf("lock partition epoch: %w", err)
	}
	p.epoch = uint32(epoch)
	if at.Epoch > p.epoch {
		p.epoch, p.high = at.Epoch, -1
	}
	return p, nil
}

func frameOf(d *Delivery) []byte {
	if d == nil {
		return nil
	}
	return d.Frame
}

func setPosition(ctx context.Context, tx pgx.Tx, campaignID int64, pos cursor.Position) error {
	if _, err := tx.Exec(ctx, `
		UPDATE campaign_view SET pos_epoch = $2, pos_partition = $3, pos_offset = $4, updated_at = now()
		WHERE campaign_id = $1`,
		campaignID, int64(pos.Epoch), pos.Partition, pos.Offset); err != nil {
		return fmt.Errorf("update view position: %w", err)
	}
	return nil
}

// storedDelivery returns the delivery recorded when eventID was first
// applied, or nil when it has no frame (campaign events) or no record.
func storedDelivery(ctx context.Context, tx pgx.Tx, eventID string) (*Delivery, error) {
	var (
		d     = Delivery{EventID: eventID}
		epoch int64
	)
	err := tx.QueryRow(ctx, `
		SELECT campaign_id, event_type, pos_epoch, pos_partition, pos_offset, frame, occurred_at
		FROM history WHERE event_id = $1`, eventID).
		Scan(&d.CampaignID, &d.EventType, &epoch, &d.Position.Partition, &d.Position.Offset, &d.Frame, &d.OccurredAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	if d.Frame == nil {
		return nil, nil
	}
	d.Position.Epoch = uint32(epoch)
	return &d, nil
}

// Snapshot is a campaign's view as one campaign_data frame.
type Snapshot struct {
	// Found is false until the campaign's own event has been applied.
	Found bool
	// Position is the position the view reflects; Frame's cursor encodes it.
	Position cursor.Position
	Frame    []byte
	// Private and OwnerID let a caller decide who may see the frame.
	Private bool
	OwnerID int64
}

// Snapshot reads campaignID's view in one statement, so its data and
// position agree, and renders it.
func (s *Store) Snapshot(ctx context.Context, campaignID int64) (Snapshot, error) {
	var (
		r     viewRow
		epoch int64
	)
	err := s.pool.QueryRow(ctx, `
		SELECT campaign, round(raised_amount, 2)::text, contribution_count,
			updates, releases, milestones, comments, contributions,
			pos_epoch, pos_partition, pos_offset
		FROM campaign_view WHERE campaign_id = $1`, campaignID).
		Scan(&r.campaign, &r.raised, &r.count,
			&r.updates, &r.releases, &r.milestones, &r.comments, &r.contributions,
			&epoch, &r.pos.Partition, &r.pos.Offset)
	if errors.Is(err, pgx.ErrNoRows) {
		return Snapshot{}, nil
	}
	if err != nil {
		return Snapshot{}, fmt.Errorf("read view: %w", err)
	}
	if r.campaign == nil {
		return Snapshot{}, nil
	}
	r.pos.Epoch = uint32(epoch)
	frame, c, err := render(r)
	if err != nil {
		return Snapshot{}, err
	}
	return Snapshot{Found: true, Position: r.pos, Frame: frame, Private: c.Private, OwnerID: c.Owner.ID}, nil
}
