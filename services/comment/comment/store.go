package comment

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/outbox"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
)

// PGStore keeps comments in Postgres.
type PGStore struct{ pool *pgxpool.Pool }

// NewStore returns the Postgres store.
func NewStore(pool *pgxpool.Pool) *PGStore { return &PGStore{pool: pool} }

// CreateComment inserts the comment and its event in one transaction.
func (s *PGStore) CreateComment(ctx context.Context, by auth.User, n NewComment) (event.CommentData, error) {
	var c event.CommentData
	err := outbox.Write(ctx, s.pool, func(tx pgx.Tx) ([]*campaignv1.Event, error) {
		row := tx.QueryRow(ctx, `
			INSERT INTO comments (campaign_id, user_id, username, content) VALUES ($1, $2, $3, $4)
			RETURNING id, campaign_id, user_id, username, content, created_at`,
			n.CampaignID, by.ID, by.Username, n.Content)
		if err := row.Scan(&c.ID, &c.Campaign, &c.User.ID, &c.User.Username, &c.Content, &c.CreatedAt.Time); err != nil {
			return nil, fmt.Errorf("insert comment: %w", err)
		}
		e, err := event.New("comment", c.Campaign, c.CreatedAt.Time, commentPB(c))
		return []*campaignv1.Event{e}, err
	})
	return c, err
}

func commentPB(c event.CommentData) *campaignv1.Comment {
	return &campaignv1.Comment{
		Id: c.ID, CampaignId: c.Campaign, User: &campaignv1.User{Id: c.User.ID, Username: c.User.Username},
		Content: c.Content, CreatedAt: timestamppb.New(c.CreatedAt.Time),
	}
}
