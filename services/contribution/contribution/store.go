package contribution

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/outbox"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
)

// PGStore keeps contributions in Postgres.
type PGStore struct {
	pool *pgxpool.Pool
	ids  idBlock
}

// NewStore returns the Postgres store.
func NewStore(pool *pgxpool.Pool) *PGStore { return &PGStore{pool: pool} }

// insertContribution inserts a contribution only if the campaign replica
// has its campaign, not private to another user, in its currency: the rules
// of service.admit, checked in the same statement as the insert. A repeated
// idempotency key inserts nothing: ON CONFLICT waits for a concurrent first
// request to commit.
var insertContribution = outbox.NewOne(`
	INSERT INTO contributions (id, campaign_id, user_id, username, amount, currency, idempotency_key, created_at)
	SELECT $1, r.id, $3, $4, $5, r.currency, $7, $8 FROM campaign_replica r
	WHERE r.id = $2 AND r.currency = $6 AND (NOT r.private OR r.owner_id = $3)
	ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
	RETURNING id`, 8)

// CreateContribution writes the contribution and its event with one
// statement (outbox.One), so the event is built first, with an id from
// the store's block and the time of the request.
func (s *PGStore) CreateContribution(ctx context.Context, by auth.User, campaignID int64, n NewContribution) (event.ContributionData, bool, error) {
	id, err := s.ids.next(ctx, s.pool)
	if err != nil {
		return event.ContributionData{}, false, err
	}
	created := time.Now().UTC().Truncate(time.Microsecond) // as Postgres keeps it
	c := event.ContributionData{
		ID: id, Campaign: campaignID, User: event.User{ID: by.ID, Username: by.Username},
		Amount: n.Amount, Currency: n.Currency, CreatedAt: event.Time{Time: created},
	}
	e, err := event.New("contribution", campaignID, created, &campaignv1.Contribution{
		Id: id, CampaignId: campaignID, User: &campaignv1.User{Id: by.ID, Username: by.Username},
		Amount: n.Amount, Currency: n.Currency, CreatedAt: timestamppb.New(created),
	})
	if err != nil {
		return event.ContributionData{}, false, err
	}
	var key *string
	if n.Key != "" {
		key = &n.Key
	}
	inserted, err := insertContribution.Write(ctx, s.pool,
		[]any{id, campaignID, by.ID, by.Username, n.Amount, n.Currency, key, created}, e)
	switch {
	case err != nil:
		return event.ContributionData{}, false, fmt.Errorf("insert contribution: %w", err)
	case inserted:
		return c, false, nil
	case key == nil:
		return event.ContributionData{}, false, errNotAdmitted
	}
	return s.replay(ctx, by, n.Key)
}

// replay returns the contribution the user's idempotency key names, or
// errNotAdmitted when there is none.
func (s *PGStore) replay(ctx context.Context, by auth.User, key string) (event.ContributionData, bool, error) {
	c := event.ContributionData{User: event.User{ID: by.ID, Username: by.Username}}
	var created time.Time
	err := s.pool.QueryRow(ctx, `
		SELECT id, campaign_id, amount::text, currency, created_at FROM contributions
		WHERE user_id = $1 AND idempotency_key = $2`,
		by.ID, key).Scan(&c.ID, &c.Campaign, &c.Amount, &c.Currency, &created)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return event.ContributionData{}, false, errNotAdmitted
	case err != nil:
		return event.ContributionData{}, false, fmt.Errorf("read contribution by idempotency key: %w", err)
	}
	c.CreatedAt = event.Time{Time: created.UTC()}
	return c, true, nil
}

// idBlock hands out contribution ids from the table's sequence, taken
// idBlockSize at a time: the id must be in the event before the one
// statement that writes both. Ids still grow within a process; replicas
// interleave theirs, and a restart leaves a gap, as sequences do anyway.
type idBlock struct {
	mu  sync.Mutex
	ids []int64
}

const idBlockSize = 256

func (b *idBlock) next(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.ids) == 0 {
		rows, err := pool.Query(ctx,
			`SELECT nextval(pg_get_serial_sequence('contributions', 'id')) FROM generate_series(1, $1) ORDER BY 1`, idBlockSize)
		if err != nil {
			return 0, fmt.Errorf("take contribution ids: %w", err)
		}
		if b.ids, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
			return 0, fmt.Errorf("take contribution ids: %w", err)
		}
	}
	id := b.ids[0]
	b.ids = b.ids[1:]
	return id, nil
}
