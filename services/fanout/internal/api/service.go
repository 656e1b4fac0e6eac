package api

import (
	"context"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/problem"
	"github.com/campaign-live/campaign-live/services/fanout/internal/view"
)

// ErrNotFound reports a campaign that has no view yet, or one the viewer may
// not see: a private campaign is "not found" to all but its owner, so its
// existence does not leak.
var ErrNotFound = problem.New(problem.NotFound, "campaign not found")

// Views reads campaign views; *view.Store is one.
type Views interface {
	Snapshot(ctx context.Context, campaignID int64) (view.Snapshot, error)
}

// Service is the live campaign view as browsers read it over REST.
type Service interface {
	// Campaign returns the campaign_data frame of campaignID, the same bytes
	// a gateway sends as a WebSocket's first message.
	Campaign(ctx context.Context, campaignID int64) ([]byte, error)
}

// NewService returns the Service over views.
func NewService(views Views) Service { return service{views: views} }

type service struct{ views Views }

func (s service) Campaign(ctx context.Context, campaignID int64) ([]byte, error) {
	snap, err := s.views.Snapshot(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	if !snap.Found {
		return nil, ErrNotFound
	}
	if snap.Private {
		if u, ok := auth.UserFrom(ctx); !ok || u.ID != snap.OwnerID {
			return nil, ErrNotFound
		}
	}
	return snap.Frame, nil
}
