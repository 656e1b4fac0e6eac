package contribution

import (
	"context"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/money"
	"github.com/campaign-live/campaign-live/pkg/problem"
)

// Service accepts contributions.
type Service interface {
	Contribute(ctx context.Context, by auth.User, campaignID int64, c NewContribution) (event.ContributionData, error)
}

// NewContribution is what a client sends.
type NewContribution struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
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
	return nil
}

// Store is the persistence the service needs.
type Store interface {
	CreateContribution(ctx context.Context, by auth.User, campaignID int64, c NewContribution) (event.ContributionData, error)
}

type service struct{ store Store }

// NewService returns the business logic over store.
func NewService(store Store) Service { return &service{store: store} }

func (s *service) Contribute(ctx context.Context, by auth.User, campaignID int64, c NewContribution) (event.ContributionData, error) {
	if err := c.Validate(); err != nil {
		return event.ContributionData{}, err
	}
	return s.store.CreateContribution(ctx, by, campaignID, c)
}
