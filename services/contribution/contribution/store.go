package contribution

import (
	"context"
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
// transaction.
func (s *PGStore) CreateContribution(ctx context.Context, by auth.User, campaignID int64, n NewContribution) (event.ContributionData, error) {
	c := event.ContributionData{Campaign: campaignID, User: event.User{ID: by.ID, Username: by.Username}}
	err := outbox.Write(ctx, s.pool, func(tx pgx.Tx) ([]*campaignv1.Event, error) {
		var created time.Time
		if err := tx.QueryRow(ctx, `
			INSERT INTO contributions (campaign_id, user_id, username, amount, currency)
			VALUES ($1, $2, $3, $4, $5)
			RETURNING id, amount::text, currency, created_at`,
			campaignID, by.ID, by.Username, n.Amount, n.Currency).Scan(&c.ID, &c.Amount, &c.Currency, &created); err != nil {
			return nil, fmt.Errorf("insert contribution: %w", err)
		}
		c.CreatedAt = event.Time{Time: created.UTC()}
		e, err := event.New("contribution", campaignID, created, &campaignv1.Contribution{
			Id: c.ID, CampaignId: campaignID, User: &campaignv1.User{Id: by.ID, Username: by.Username},
			Amount: c.Amount, Currency: c.Currency, CreatedAt: timestamppb.New(created),
		})
		return []*campaignv1.Event{e}, err
	})
	return c, err
}
