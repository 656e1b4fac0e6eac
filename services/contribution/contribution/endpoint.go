package contribution

import (
	"context"
	"log/slog"
	"net/http"

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
	return Set{Contribute: kitx.Observe(log, "contribute", auth.Require(v)(makeContribute(s)))}
}

type contributeRequest struct {
	CampaignID int64
	NewContribution
}

func makeContribute(s Service) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		req := request.(contributeRequest)
		u, _ := auth.UserFrom(ctx)
		c, replayed, err := s.Contribute(ctx, u, req.CampaignID, req.NewContribution)
		return kitx.Respond(contributeResponse{ContributionData: c, replayed: replayed}, err)
	}
}

// contributeResponse is the contribution, and whether it answers a repeated
// idempotency key.
type contributeResponse struct {
	event.ContributionData
	replayed bool
}

// Headers marks a replayed answer, as the IETF Idempotency-Key draft's
// implementations do.
func (r contributeResponse) Headers() http.Header {
	if !r.replayed {
		return nil
	}
	return http.Header{"Idempotent-Replayed": {"true"}}
}
