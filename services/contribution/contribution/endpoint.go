package contribution

import (
	"context"
	"log/slog"

	"github.com/go-kit/kit/endpoint"

	"github.com/campaign-live/campaign-live/pkg/auth"
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

func makeContribute(s Service) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		req := request.(contributeRequest)
		u, _ := auth.UserFrom(ctx)
		return kitx.Respond(s.Contribute(ctx, u, req.CampaignID, req.NewContribution))
	}
}
