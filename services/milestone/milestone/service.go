package milestone

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/money"
	"github.com/campaign-live/campaign-live/pkg/problem"
	"github.com/campaign-live/campaign-live/pkg/replica"
)

// Service manages milestones.
type Service interface {
	// AddMilestone adds a milestone to a campaign of by's; it is created
	// reached if the campaign has already raised its target.
	AddMilestone(ctx context.Context, by auth.User, m NewMilestone) (event.MilestoneData, error)
}

// Business errors.
var (
	ErrCampaignNotFound = replica.ErrCampaignNotFound
	ErrNotOwner         = problem.New(problem.Forbidden, "only the campaign's owner may add milestones")
)

// MaxTitle is the longest milestone title, in characters.
const MaxTitle = 200

// Milestone statuses.
const (
	StatusPending = "pending"
	StatusReached = "reached"
)

// NewMilestone is a milestone to add: the campaign, from the path, and what
// the client sends in the body.
type NewMilestone struct {
	CampaignID   int64  `json:"-"`
	Title        string `json:"title"`
	TargetAmount string `json:"target_amount"`
}

// Validate checks m, trims its title and normalizes its target to two
// decimals.
func (m *NewMilestone) Validate() error {
	m.Title = strings.TrimSpace(m.Title)
	if n := utf8.RuneCountInString(m.Title); n == 0 || n > MaxTitle || strings.ContainsRune(m.Title, 0) {
		return problem.InvalidField("title", "must be 1 to 200 characters, without NUL")
	}
	target, err := money.ParseAmount(m.TargetAmount)
	if err != nil {
		return problem.InvalidField("target_amount", err.Error())
	}
	m.TargetAmount = target
	return nil
}

// Campaigns finds the campaigns milestones are for; *replica.Lookup is one.
type Campaigns interface {
	Campaign(ctx context.Context, id int64) (replica.Campaign, error)
}

// Store is the persistence the service needs.
type Store interface {
	CreateMilestone(ctx context.Context, m NewMilestone) (event.MilestoneData, error)
}

type service struct {
	campaigns Campaigns
	store     Store
}

// NewService returns the business logic over campaigns and store.
func NewService(campaigns Campaigns, store Store) Service {
	return service{campaigns: campaigns, store: store}
}

func (s service) AddMilestone(ctx context.Context, by auth.User, m NewMilestone) (event.MilestoneData, error) {
	if err := m.Validate(); err != nil {
		return event.MilestoneData{}, err
	}
	if err := s.mayAdd(ctx, by, m.CampaignID); err != nil {
		return event.MilestoneData{}, err
	}
	return s.store.CreateMilestone(ctx, m)
}

// mayAdd lets only the campaign's owner add milestones. Anyone else gets 403,
// unless the campaign is private: then it does not exist for them (404).
func (s service) mayAdd(ctx context.Context, by auth.User, campaignID int64) error {
	c, err := s.campaigns.Campaign(ctx, campaignID)
	if err != nil || c.Owner.ID == by.ID {
		return err
	}
	if c.Private {
		return ErrCampaignNotFound
	}
	return ErrNotOwner
}
