package api

import (
	"context"

	"github.com/go-kit/kit/endpoint"

	"github.com/campaign-live/campaign-live/pkg/auth"
)

// Set holds the service's endpoints.
type Set struct {
	Campaign endpoint.Endpoint
}

// MakeSet returns the endpoints of svc. With a verifier, a request's token
// (when it has one) names the viewer, so owners can read their private
// campaigns; without one every viewer is anonymous.
func MakeSet(svc Service, verifier *auth.Verifier) Set {
	ep := makeCampaignEndpoint(svc)
	if verifier != nil {
		ep = auth.Optional(verifier)(ep)
	}
	return Set{Campaign: ep}
}

type campaignRequest struct {
	ID int64
}

type campaignResponse struct {
	Frame []byte `json:"-"`
	Err   error  `json:"-"`
}

// Failed implements endpoint.Failer.
func (r campaignResponse) Failed() error { return r.Err }

var _ endpoint.Failer = campaignResponse{}

func makeCampaignEndpoint(svc Service) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		req := request.(campaignRequest)
		frame, err := svc.Campaign(ctx, req.ID)
		return campaignResponse{Frame: frame, Err: err}, nil
	}
}
