package content

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

// PGStore keeps campaigns in Postgres.
type PGStore struct{ pool *pgxpool.Pool }

// NewStore returns the Postgres store.
func NewStore(pool *pgxpool.Pool) *PGStore { return &PGStore{pool: pool} }

const campaignColumns = `id, title, description, goal_amount::text, currency, owner_id, owner_username, private, created_at`

func scanCampaign(row pgx.Row) (event.CampaignData, error) {
	var c event.CampaignData
	var created time.Time
	err := row.Scan(&c.ID, &c.Title, &c.Description, &c.GoalAmount, &c.Currency,
		&c.Owner.ID, &c.Owner.Username, &c.Private, &created)
	c.CreatedAt = event.Time{Time: created.UTC()}
	return c, err
}

// CreateCampaign inserts the campaign and its event in one transaction.
func (s *PGStore) CreateCampaign(ctx context.Context, owner auth.User, n NewCampaign) (event.CampaignData, error) {
	var c event.CampaignData
	err := outbox.Write(ctx, s.pool, func(tx pgx.Tx) ([]*campaignv1.Event, error) {
		var err error
		c, err = scanCampaign(tx.QueryRow(ctx, `
			INSERT INTO campaigns (title, description, goal_amount, currency, owner_id, owner_username, private)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			RETURNING `+campaignColumns,
			n.Title, n.Description, n.GoalAmount, n.Currency, owner.ID, owner.Username, n.Private))
		if err != nil {
			return nil, fmt.Errorf("insert campaign: %w", err)
		}
		e, err := event.New("content", c.ID, c.CreatedAt.Time, campaignPB(c))
		return []*campaignv1.Event{e}, err
	})
	return c, err
}

func campaignPB(c event.CampaignData) *campaignv1.Campaign {
	return &campaignv1.Campaign{
		Id: c.ID, Title: c.Title, Description: c.Description, GoalAmount: c.GoalAmount,
		Currency: c.Currency, Owner: &campaignv1.User{Id: c.Owner.ID, Username: c.Owner.Username},
		Private: c.Private, CreatedAt: timestamppb.New(c.CreatedAt.Time),
	}
}

// Campaign returns one campaign.
func (s *PGStore) Campaign(ctx context.Context, id int64) (event.CampaignData, error) {
	c, err := scanCampaign(s.pool.QueryRow(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrCampaignNotFound
	}
	if err != nil {
		return c, fmt.Errorf("select campaign %d: %w", id, err)
	}
	return c, nil
}

// Campaigns returns the newest public campaigns.
func (s *PGStore) Campaigns(ctx context.Context, limit int) ([]event.CampaignData, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT `+campaignColumns+` FROM campaigns WHERE NOT private ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("select campaigns: %w", err)
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (event.CampaignData, error) { return scanCampaign(r) })
	if err != nil {
		return nil, fmt.Errorf("select campaigns: %w", err)
	}
	if cs == nil {
		cs = []event.CampaignData{}
	}
	return cs, nil
}

// CreateUpdate inserts an update and its event in one transaction.
func (s *PGStore) CreateUpdate(ctx context.Context, campaignID int64, n NewUpdate) (event.UpdateData, error) {
	u := event.UpdateData{Campaign: campaignID, Title: n.Title, Content: n.Content, Image: n.Image}
	err := outbox.Write(ctx, s.pool, func(tx pgx.Tx) ([]*campaignv1.Event, error) {
		var created time.Time
		if err := tx.QueryRow(ctx, `
			INSERT INTO updates (campaign_id, title, content, image) VALUES ($1, $2, $3, $4)
			RETURNING id, created_at`, campaignID, n.Title, n.Content, n.Image).Scan(&u.ID, &created); err != nil {
			return nil, fmt.Errorf("insert update: %w", err)
		}
		u.CreatedAt = event.Time{Time: created.UTC()}
		e, err := event.New("content", campaignID, created, &campaignv1.Update{
			Id: u.ID, CampaignId: campaignID, Title: u.Title, Content: u.Content,
			Image: derefOr(n.Image, ""), CreatedAt: timestamppb.New(created),
		})
		return []*campaignv1.Event{e}, err
	})
	return u, err
}

// CreateRelease inserts a release and its event in one transaction.
func (s *PGStore) CreateRelease(ctx context.Context, campaignID int64, n NewRelease) (event.ReleaseData, error) {
	r := event.ReleaseData{Campaign: campaignID, Title: n.Title, Version: n.Version, Notes: n.Notes}
	err := outbox.Write(ctx, s.pool, func(tx pgx.Tx) ([]*campaignv1.Event, error) {
		var created time.Time
		if err := tx.QueryRow(ctx, `
			INSERT INTO releases (campaign_id, title, version, notes) VALUES ($1, $2, $3, $4)
			RETURNING id, created_at`, campaignID, n.Title, n.Version, n.Notes).Scan(&r.ID, &created); err != nil {
			return nil, fmt.Errorf("insert release: %w", err)
		}
		r.CreatedAt = event.Time{Time: created.UTC()}
		e, err := event.New("content", campaignID, created, &campaignv1.Release{
			Id: r.ID, CampaignId: campaignID, Title: r.Title, Version: r.Version, Notes: r.Notes,
			CreatedAt: timestamppb.New(created),
		})
		return []*campaignv1.Event{e}, err
	})
	return r, err
}

func derefOr(s *string, def string) string {
	if s == nil {
		return def
	}
	return *s
}
