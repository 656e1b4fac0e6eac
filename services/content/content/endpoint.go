package content

import (
	"context"
	"log/slog"

	"github.com/go-kit/kit/endpoint"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/kitx"
)

// Set collects the service's endpoints.
type Set struct {
	CreateCampaign endpoint.Endpoint
	GetCampaign    endpoint.Endpoint
	ListCampaigns  endpoint.Endpoint
	PostUpdate     endpoint.Endpoint
	PostRelease    endpoint.Endpoint
}

// NewSet wraps each method of s in an endpoint with its auth rule and
// logging.
func NewSet(s Service, v *auth.Verifier, log *slog.Logger) Set {
	return Set{
		CreateCampaign: kitx.Observe(log, "create_campaign", auth.Require(v)(makeCreateCampaign(s))),
		GetCampaign:    auth.Optional(v)(makeGetCampaign(s)),
		ListCampaigns:  makeListCampaigns(s),
		PostUpdate:     kitx.Observe(log, "post_update", auth.Require(v)(makePostUpdate(s))),
		PostRelease:    kitx.Observe(log, "post_release", auth.Require(v)(makePostRelease(s))),
	}
}

type createCampaignRequest struct{ NewCampaign }

func makeCreateCampaign(s Service) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		req := request.(createCampaignRequest)
		u, _ := auth.UserFrom(ctx)
		return kitx.Respond(s.CreateCampaign(ctx, u, req.NewCampaign))
	}
}

type getCampaignRequest struct{ ID int64 }

func makeGetCampaign(s Service) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		req := request.(getCampaignRequest)
		c, err := s.GetCampaign(ctx, req.ID)
		if err == nil && c.Private {
			// A private campaign is visible to its owner only; to anyone
			// else it does not exist.
			if u, ok := auth.UserFrom(ctx); !ok || u.ID != c.Owner.ID {
				err = ErrCampaignNotFound
			}
		}
		return kitx.Respond(c, err)
	}
}

// campaignList is the body of GET /api/campaigns.
type campaignList struct {
	Campaigns []event.CampaignData `json:"campaigns"`
}

func makeListCampaigns(s Service) endpoint.Endpoint {
	return func(ctx context.Context, _ any) (any, error) {
		cs, err := s.ListCampaigns(ctx)
		return kitx.Respond(campaignList{Campaigns: cs}, err)
	}
}

// postRequest is a post to a campaign: an update or a release.
type postRequest[T any] struct {
	CampaignID int64
	Post       T
}

func makePostUpdate(s Service) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		req := request.(postRequest[NewUpdate])
		u, _ := auth.UserFrom(ctx)
		return kitx.Respond(s.PostUpdate(ctx, u, req.CampaignID, req.Post))
	}
}

func makePostRelease(s Service) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		req := request.(postRequest[NewRelease])
		u, _ := auth.UserFrom(ctx)
		return kitx.Respond(s.PostRelease(ctx, u, req.CampaignID, req.Post))
	}
}
