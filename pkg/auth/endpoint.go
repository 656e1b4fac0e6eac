package auth

import (
	"context"

	"github.com/go-kit/kit/endpoint"
)

// Require is a go-kit endpoint middleware that lets a request through only
// with a valid token, and puts its user in the context.
func Require(v *Verifier) endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req any) (any, error) {
			ctx, err := v.Authenticate(ctx)
			if err != nil {
				return nil, err
			}
			return next(ctx, req)
		}
	}
}
