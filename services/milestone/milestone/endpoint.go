package milestone

import (
	"context"
	"log/slog"

	"github.com/go-kit/kit/endpoint"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/kitx"
)

// Set collects the service's endpoints.
type Set struct {
	AddMilestone endpoint.Endpoint
}

// NewSet wraps each method of s in an endpoint with its auth rule and
// logging. Any signed-in user passes auth; ownership is the service's rule.
func NewSet(s Service, v *auth.Verifier, log *slog.Logger) Set {
	signedIn := auth.Require(v)
	return Set{AddMilestone: kitx.Observe(log, "add_milestone", signedIn(makeAddMilestone(s)))}
}

func makeAddMilestone(s Service) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		by, _ := auth.UserFrom(ctx)
		m, err := s.AddMilestone(ctx, by, request.(NewMilestone))
		return kitx.Respond(m, err)
	}
}
