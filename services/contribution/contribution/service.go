package contribution

import (
	"context"
	"fmt"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/money"
	"github.com/campaign-live/campaign-live/pkg/problem"
	"github.com/campaign-live/campaign-live/pkg/replica"
)

// Service accepts contributions.
type Service interface {
	// Contribute records a contribution by a user. With an idempotency key
	// the user has used before for the same request, it returns the first
	// contribution, and replayed is true.
	Contribute(ctx context.Context, by auth.User, campaignID int64, c NewContribution) (_ event.ContributionData, replayed bool, _ error)
}

// Business errors.
var (
	ErrKeyReused = problem.New(problem.Conflict, "idempotency key already used for a different contribution")
)

// MaxKeyLen bounds an Idempotency-Key.
const MaxKeyLen = 200

// NewContribution is what a client sends, and the Idempotency-Key header.
type NewContribution struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
	Key      string `json:"-"`
}

// Validate checks c and normalizes its amount to two decimals.
func (c *NewContribution) Validate() error {
	amount, err := money.ParseAmount(c.Amount)
	if err != nil {
		return problem.InvalidField("amount", err.Error())
	}
	c.Amount = amount
	if _, err := money.ParseCurrency(c.Currency); err != nil {
		return problem.InvalidField("currency", err.Error())
	}
	if len(c.Key) > MaxKeyLen {
		return problem.InvalidField("Idempotency-Key", fmt.Sprintf("must be at most %d characters", MaxKeyLen))
	}
	for _, r := range c.Key {
		if r < 0x21 || r > 0x7e {
			return problem.InvalidField("Idempotency-Key", "must be printable ASCII without spaces")
		}
	}
	return nil
}

// Campaigns finds the campaigns that exist; *replica.Lookup is one.
type Campaigns interface {
	Campaign(ctx context.Context, id int64) (replica.Campaign, error)
}

// Store is the persistence the service needs.
type Store interface {
	// CreateContribution inserts c, unless the user's idempotency key
	// already names a contribution: then it returns that one, replayed.
	CreateContribution(ctx context.Context, by auth.User, campaignID int64, c NewContribution) (_ event.ContributionData, replayed bool, _ error)
}

type service struct {
	store     Store
	campaigns Campaigns
}

// NewService returns the business logic over store and campaigns.
func NewService(store Store, campaigns Campaigns) Service {
	return &service{store: store, campaigns: campaigns}
}

func (s *service) Contribute(ctx context.Context, by auth.User, campaignID int64, n NewContribution) (event.ContributionData, bool, error) {
	if err := n.Validate(); err != nil {
		return event.ContributionData{}, false, err
	}
	c, err := s.campaigns.Campaign(ctx, campaignID)
	if err != nil {
		return event.ContributionData{}, false, err
	}
	if c.Private && c.Owner.ID != by.ID {
		return event.ContributionData{}, false, replica.ErrCampaignNotFound
	}
	if n.Currency != c.Currency {
		return event.ContributionData{}, false, problem.InvalidField("currency", "must be the campaign's currency, "+c.Currency)
	}
	got, replayed, err := s.store.CreateContribution(ctx, by, campaignID, n)
	if err == nil && replayed && (got.Campaign != campaignID || got.Amount != n.Amount || got.Currency != n.Currency) {
		return event.ContributionData{}, false, ErrKeyReused
	}
	return got, replayed, err
}
