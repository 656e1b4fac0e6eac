package contribution

import (
	"context"
	"errors"
	"fmt"
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
type PGStore struct{ pool *pgxpool.Pool }

// NewStore returns the Postgres store.
func NewStore(pool *pgxpool.Pool) *PGStore { return &PGStore{pool: pool} }

// CreateContribution inserts the contribution and its event in one
// transaction. A repeated idempotency key inserts nothing and emits no
// event: ON CONFLICT waits for a concurrent first request to commit, then
// the first contribution is read back.
func (s *PGStore) CreateContribution(ctx context.Context, by auth.User, campaignID int64, n NewContribution) (event.ContributionData, bool, error) {
	var (
		c        = event.ContributionData{User: event.User{ID: by.ID, Username: by.Username}}
		replayed bool
		key      *string
	)
	if n.Key != "" {
		key = &n.Key
	}
	err := outbox.Write(ctx, s.pool, func(tx pgx.Tx) ([]*campaignv1.Event, error) {
		var created time.Time
		err := tx.QueryRow(ctx, `
			INSERT INTO contributions (campaign_id, user_id, username, amount, currency, idempotency_key)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
			RETURNING id, campaign_id, amount::text, currency, created_at`,
			campaignID, by.ID, by.Username, n.Amount, n.Currency, key).Scan(&c.ID, &c.Campaign, &c.Amount, &c.Currency, &created)
		if errors.Is(err, pgx.ErrNoRows) {
			replayed = true
			err = tx.QueryRow(ctx, `
				SELECT id, campaign_id, amount::text, currency, created_at FROM contributions
				WHERE user_id = $1 AND idempotency_key = $2`,
				by.ID, n.Key).Scan(&c.ID, &c.Campaign, &c.Amount, &c.Currency, &created)
		}
		if err != nil {
			return nil, fmt.Errorf("insert contribution: %w", err)
		}
		c.CreatedAt = event.Time{Time: created.UTC()}
		if replayed {
			return nil, nil
		}
		e, err := event.New("contribution", campaignID, created, &campaignv1.Contribution{
			Id: c.ID, CampaignId: campaignID, User: &campaignv1.User{Id: by.ID, Username: by.Username},
			Amount: c.Amount, Currency: c.Currency, CreatedAt: timestamppb.New(created),
		})
		return []*campaignv1.Event{e}, err
	})
	return c, replayed, err
}
