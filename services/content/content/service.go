package content

import (
	"context"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/money"
	"github.com/campaign-live/campaign-live/pkg/problem"
)

// Service manages campaigns.
type Service interface {
	CreateCampaign(ctx context.Context, by auth.User, c NewCampaign) (event.CampaignData, error)
	GetCampaign(ctx context.Context, id int64) (event.CampaignData, error)
	ListCampaigns(ctx context.Context) ([]event.CampaignData, error)
	PostUpdate(ctx context.Context, by auth.User, campaignID int64, u NewUpdate) (event.UpdateData, error)
	PostRelease(ctx context.Context, by auth.User, campaignID int64, r NewRelease) (event.ReleaseData, error)
}

// Business errors.
var ErrCampaignNotFound = problem.New(problem.NotFound, "campaign not found")

// Limits of campaign fields, in characters.
const (
	MaxTitle       = 200
	MaxDescription = 10000
	ListLimit      = 100
)

// NewCampaign is what a client sends to create a campaign.
type NewCampaign struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	GoalAmount  string `json:"goal_amount"`
	Currency    string `json:"currency"`
	Private     bool   `json:"private"`
}

// Validate checks c and normalizes its amount.
func (c *NewCampaign) Validate() error {
	if err := text(&c.Title, "title", 1, MaxTitle); err != nil {
		return err
	}
	if err := text(&c.Description, "description", 0, MaxDescription); err != nil {
		return err
	}
	goal, err := money.ParseAmount(c.GoalAmount)
	if err != nil {
		return problem.InvalidField("goal_amount", err.Error())
	}
	c.GoalAmount = goal
	if _, err := money.ParseCurrency(c.Currency); err != nil {
		return problem.InvalidField("currency", err.Error())
	}
	return nil
}

// Store is the persistence the service needs.
type Store interface {
	CreateCampaign(ctx context.Context, owner auth.User, c NewCampaign) (event.CampaignData, error)
	Campaign(ctx context.Context, id int64) (event.CampaignData, error)
	Campaigns(ctx context.Context, limit int) ([]event.CampaignData, error)
	CreateUpdate(ctx context.Context, campaignID int64, u NewUpdate) (event.UpdateData, error)
	CreateRelease(ctx context.Context, campaignID int64, r NewRelease) (event.ReleaseData, error)
}

type service struct{ store Store }

// NewService returns the business logic over store.
func NewService(store Store) Service { return &service{store: store} }

func (s *service) CreateCampaign(ctx context.Context, by auth.User, c NewCampaign) (event.CampaignData, error) {
	if err := c.Validate(); err != nil {
		return event.CampaignData{}, err
	}
	return s.store.CreateCampaign(ctx, by, c)
}

func (s *service) GetCampaign(ctx context.Context, id int64) (event.CampaignData, error) {
	return s.store.Campaign(ctx, id)
}

func (s *service) ListCampaigns(ctx context.Context) ([]event.CampaignData, error) {
	return s.store.Campaigns(ctx, ListLimit)
}
