package comment

import (
	"context"
	"log/slog"

	"github.com/go-kit/kit/endpoint"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/kitx"
)

// Set collects the service's endpoints.
type Set struct {
	Comment endpoint.Endpoint
}

// NewSet wraps each method of s in an endpoint with its auth rule and
// logging: any signed-in user may comment.
func NewSet(s Service, v *auth.Verifier, log *slog.Logger) Set {
	return Set{Comment: kitx.Observe(log, "comment", auth.Require(v)(makeComment(s)))}
}

func makeComment(s Service) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		u, _ := auth.UserFrom(ctx)
		return kitx.Respond(s.Comment(ctx, u, request.(NewComment)))
	}
}
