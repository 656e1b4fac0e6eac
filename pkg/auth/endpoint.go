package auth

import (
	"context"
	"errors"

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

// Optional is a go-kit endpoint middleware for endpoints anonymous users may
// call: a valid token puts its user in the context, no token passes as
// anonymous, and a bad token is still refused.
func Optional(v *Verifier) endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req any) (any, error) {
			ctx, err := v.Authenticate(ctx)
			if err != nil && !errors.Is(err, ErrNoToken) {
				return nil, err
			}
			return next(ctx, req)
		}
	}
}
