// Package replica keeps, in a service's own database, a copy of the facts
// about campaigns that the service's rules need (owner, currency, privacy),
// built from `campaign` events. Services that check a campaign on every
// write (contribution, comment, milestone) read it locally instead of calling
// the content service per request.
//
// # Read-your-writes
//
// A client that creates a campaign and writes to it at once can outrun the
// replica by the few milliseconds the event takes to arrive, so a lookup that
// misses waits for the campaign to arrive before refusing. Campaign ids grow:
// an id above the highest the replica knows is probably new and gets the
// whole wait; an id below it can only be in flight if campaigns created at
// nearly the same moment arrived out of order through different partitions,
// so it gets an eighth of the wait. See docs/decisions.md.
package replica

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/pkg/pgdb"
	"github.com/campaign-live/campaign-live/pkg/problem"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the replica table's migration set.
func Migrations() pgdb.Migrations {
	return pgdb.Embedded(migrations, "replica_schema_version")
}

// ErrCampaignNotFound reports a campaign that does not exist (or is not
// visible to the caller).
var ErrCampaignNotFound = problem.New(problem.NotFound, "campaign not found")

// Campaign is what a writing service knows of a campaign.
type Campaign struct {
	ID       int64
	Owner    event.User
	Currency string
	Private  bool
}

// Apply records a `campaign` event in tx; other events are ignored. It is
// idempotent, as a consumer.Handler must be.
func Apply(ctx context.Context, tx pgx.Tx, e *campaignv1.Event) error {
	c := e.GetCampaign()
	if c == nil {
		return nil
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO campaign_replica (id, owner_id, owner_username, currency, private) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET owner_id = EXCLUDED.owner_id, owner_username = EXCLUDED.owner_username,
			currency = EXCLUDED.currency, private = EXCLUDED.private`,
		c.GetId(), c.GetOwner().GetId(), c.GetOwner().GetUsername(), c.GetCurrency(), c.GetPrivate())
	if err != nil {
		return fmt.Errorf("upsert campaign %d: %w", c.GetId(), err)
	}
	return nil
}

// Lookup reads the replica.
type Lookup struct {
	pool *pgxpool.Pool
	// Wait bounds how long a lookup waits for a campaign newer than any the
	// replica knows.
	Wait time.Duration
}

// NewLookup returns a Lookup over pool that waits up to wait for new ids.
func NewLookup(pool *pgxpool.Pool, wait time.Duration) *Lookup {
	return &Lookup{pool: pool, Wait: wait}
}

// Campaign returns campaign id, or ErrCampaignNotFound.
func (l *Lookup) Campaign(ctx context.Context, id int64) (Campaign, error) {
	start := time.Now()
	for {
		var (
			c     = Campaign{ID: id}
			found bool
			maxID int64
		)
		err := l.pool.QueryRow(ctx, `
			SELECT m.max_id, r.id IS NOT NULL, coalesce(r.owner_id, 0), coalesce(r.owner_username, ''),
				coalesce(r.currency, ''), coalesce(r.private, false)
			FROM (SELECT coalesce(max(id), 0) AS max_id FROM campaign_replica) m
			LEFT JOIN campaign_replica r ON r.id = $1`, id).
			Scan(&maxID, &found, &c.Owner.ID, &c.Owner.Username, &c.Currency, &c.Private)
		if err != nil {
			return Campaign{}, fmt.Errorf("look up campaign %d: %w", id, err)
		}
		if found {
			return c, nil
		}
		wait := l.Wait
		if id <= maxID {
			wait /= 8
		}
		if time.Since(start) >= wait {
			return Campaign{}, ErrCampaignNotFound
		}
		select {
		case <-ctx.Done():
			return Campaign{}, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
