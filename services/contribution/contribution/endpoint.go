package contribution

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
	Contribute endpoint.Endpoint
}

// NewSet wraps each method of s in an endpoint with its auth rule and
// logging.
func NewSet(s Service, v *auth.Verifier, log *slog.Logger) Set {
	return Set{Contribute: kitx.Logging(log, "contribute")(auth.Require(v)(makeContribute(s)))}
}

type contributeRequest struct {
	CampaignID int64
	NewContribution
}

type contributeResponse struct {
	Contribution event.ContributionData
	Err          error `json:"-"`
}

func (r contributeResponse) Failed() error { return r.Err }
func (r contributeResponse) Body() any     { return r.Contribution }

var _ endpoint.Failer = contributeResponse{}

func makeContribute(s Service) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		req := request.(contributeRequest)
		u, _ := auth.UserFrom(ctx)
		c, err := s.Contribute(ctx, u, req.CampaignID, req.NewContribution)
		return contributeResponse{Contribution: c, Err: err}, nil
	}
}
