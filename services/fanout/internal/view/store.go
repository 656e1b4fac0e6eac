package view

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/campaign-live/campaign-live/pkg/cursor"
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
	// Err is set, and nothing else, when the event can never be applied
	// (it wraps event.ErrInvalid); the view did not change.
	Err error
}

func frameOf(d *Delivery) []byte {
	if d == nil {
		return nil
	}
	return d.Frame
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
