package contribution

import (
	"context"
	"errors"
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
	// CreateContribution inserts c if the campaign replica has a campaign
	// campaignID that admits it (see service.admit), else returns
	// errNotAdmitted; but if the user's idempotency key already names a
	// contribution, it inserts nothing and returns that one, replayed.
	CreateContribution(ctx context.Context, by auth.User, campaignID int64, c NewContribution) (_ event.ContributionData, replayed bool, _ error)
}

// errNotAdmitted is the store's refusal when the replica has no campaign
// that takes the contribution; admit says why.
var errNotAdmitted = errors.New("no campaign in the replica admits the contribution")

// errCampaignChanged answers the rare request whose campaign changed between
// the store's refusal and admit's reading.
var errCampaignChanged = problem.New(problem.Conflict, "the campaign changed during the request; retry it")

type service struct {
	store     Store
	campaigns Campaigns
}

// NewService returns the business logic over store and campaigns.
func NewService(store Store, campaigns Campaigns) Service {
	return &service{store: store, campaigns: campaigns}
}

// Contribute writes first: the store's one statement checks the campaign in
// the replica as it inserts, so a contribution to a known campaign costs one
// round trip. Only a refusal reads the campaign, to say why, or to write
// once more if the campaign has just arrived in the replica.
func (s *service) Contribute(ctx context.Context, by auth.User, campaignID int64, n NewContribution) (event.ContributionData, bool, error) {
	if err := n.Validate(); err != nil {
		return event.ContributionData{}, false, err
	}
	got, replayed, err := s.store.CreateContribution(ctx, by, campaignID, n)
	if errors.Is(err, errNotAdmitted) {
		if err := s.admit(ctx, by, campaignID, n); err != nil {
			return event.ContributionData{}, false, err
		}
		got, replayed, err = s.store.CreateContribution(ctx, by, campaignID, n)
		if errors.Is(err, errNotAdmitted) {
			err = errCampaignChanged
		}
	}
	if err == nil && replayed && (got.Campaign != campaignID || got.Amount != n.Amount || got.Currency != n.Currency) {
		return event.ContributionData{}, false, ErrKeyReused
	}
	return got, replayed, err
}

// admit applies the rules the store checks, with their reasons: the campaign
// exists (a lookup waits for one newer than the replica), it is not another
// user's private campaign, and it takes the contribution's currency.
func (s *service) admit(ctx context.Context, by auth.User, campaignID int64, n NewContribution) error {
	c, err := s.campaigns.Campaign(ctx, campaignID)
	if err != nil {
		return err
	}
	if c.Private && c.Owner.ID != by.ID {
		return replica.ErrCampaignNotFound
	}
	if n.Currency != c.Currency {
		return problem.InvalidField("currency", "must be the campaign's currency, "+c.Currency)
	}
	return nil
}
