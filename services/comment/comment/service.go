package comment

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/problem"
	"github.com/campaign-live/campaign-live/pkg/replica"
)

// Service accepts comments.
type Service interface {
	Comment(ctx context.Context, by auth.User, c NewComment) (event.CommentData, error)
}

// ErrCampaignNotFound answers a comment on a campaign that does not exist or
// that the caller may not see.
var ErrCampaignNotFound = replica.ErrCampaignNotFound

// MaxContent is the longest comment, in characters.
const MaxContent = 2000

// NewComment is a comment to add: the campaign it is for, from the path, and
// what the client sends in the body.
type NewComment struct {
	CampaignID int64  `json:"-"`
	Content    string `json:"content"`
}

// Validate checks c and trims its content.
func (c *NewComment) Validate() error {
	c.Content = strings.TrimSpace(c.Content)
	switch {
	case c.Content == "" || utf8.RuneCountInString(c.Content) > MaxContent:
		return problem.InvalidField("content", "must be 1 to 2000 characters")
	case strings.ContainsRune(c.Content, 0):
		// Postgres text cannot hold NUL; refuse it here rather than fail
		// the insert with a 500.
		return problem.InvalidField("content", "must not contain NUL characters")
	}
	return nil
}

// Campaigns finds the campaigns comments are for; *replica.Lookup is one.
type Campaigns interface {
	Campaign(ctx context.Context, id int64) (replica.Campaign, error)
}

// Store is the persistence the service needs.
type Store interface {
	CreateComment(ctx context.Context, by auth.User, c NewComment) (event.CommentData, error)
}

type service struct {
	campaigns Campaigns
	store     Store
}

// NewService returns the business logic over campaigns and store.
func NewService(campaigns Campaigns, store Store) Service {
	return &service{campaigns: campaigns, store: store}
}

// Comment validates before it looks the campaign up, so a bad request is
// refused at once even for a campaign the replica is still waiting for.
func (s *service) Comment(ctx context.Context, by auth.User, c NewComment) (event.CommentData, error) {
	if err := c.Validate(); err != nil {
		return event.CommentData{}, err
	}
	campaign, err := s.campaigns.Campaign(ctx, c.CampaignID)
	if err != nil {
		return event.CommentData{}, err
	}
	if campaign.Private && campaign.Owner.ID != by.ID {
		return event.CommentData{}, ErrCampaignNotFound
	}
	return s.store.CreateComment(ctx, by, c)
}
