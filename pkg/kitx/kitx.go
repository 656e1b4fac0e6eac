// Package kitx holds what every go-kit REST service here shares around its
// endpoints: the server options (problem JSON errors, the token in the
// context), the JSON response encoder, and endpoint middlewares.
package kitx

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/httpx"
	"github.com/campaign-live/campaign-live/pkg/problem"
)

// ServerOptions are the go-kit server options every REST service uses: the
// shared problem JSON error encoder, and the request's token in the context
// for auth.Require.
func ServerOptions(log *slog.Logger) []httptransport.ServerOption {
	return []httptransport.ServerOption{
		httptransport.ServerErrorEncoder(problem.ErrorEncoder(log)),
		httptransport.ServerBefore(auth.TokenToContext),
	}
}

// Bodied is a response that says what to write as its JSON body.
type Bodied interface{ Body() any }

// EncodeJSON returns a response encoder that writes status and the
// response's Body() (or the response itself) as JSON; a response that failed
// (endpoint.Failer) is written as problem JSON instead.
func EncodeJSON(log *slog.Logger, status int) httptransport.EncodeResponseFunc {
	encodeError := problem.ErrorEncoder(log)
	return func(ctx context.Context, w http.ResponseWriter, response any) error {
		if f, ok := response.(endpoint.Failer); ok && f.Failed() != nil {
			encodeError(ctx, f.Failed(), w)
			return nil
		}
		if b, ok := response.(Bodied); ok {
			response = b.Body()
		}
		if h, ok := response.(httptransport.Headerer); ok {
			for k, vs := range h.Headers() {
				w.Header()[k] = vs
			}
		}
		return httpx.WriteJSON(w, status, response)
	}
}

// Logging logs each call of an endpoint with its outcome and duration. A
// refused request (a client's mistake) logs at info, a failure at error.
func Logging(log *slog.Logger, name string) endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, request any) (response any, err error) {
			defer func(begin time.Time) {
				failure := err
				if f, ok := response.(endpoint.Failer); ok && failure == nil {
					failure = f.Failed()
				}
				level := slog.LevelInfo
				if failure != nil && problem.From(failure).Kind == problem.Internal {
					level = slog.LevelError
				}
				attrs := []any{"endpoint", name, "took", time.Since(begin).String()}
				if failure != nil {
					attrs = append(attrs, "err", failure)
				}
				log.Log(ctx, level, "request", attrs...)
			}(time.Now())
			return next(ctx, request)
		}
	}
}

// Tracing runs each call of an endpoint in a span named for it, a child of
// the HTTP server span; business refusals are recorded on it as events,
// internal failures as errors.
func Tracing(name string) endpoint.Middleware {
	tracer := otel.Tracer("github.com/campaign-live/campaign-live/pkg/kitx")
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, request any) (response any, err error) {
			ctx, span := tracer.Start(ctx, name)
			defer func() {
				failure := err
				if f, ok := response.(endpoint.Failer); ok && failure == nil {
					failure = f.Failed()
				}
				if failure != nil {
					if problem.From(failure).Kind == problem.Internal {
						span.RecordError(failure)
						span.SetStatus(codes.Error, "internal error")
					} else {
						span.AddEvent("refused", trace.WithAttributes(attribute.String("reason", failure.Error())))
					}
				}
				span.End()
			}()
			return next(ctx, request)
		}
	}
}

// Observe wraps an endpoint in the middlewares every endpoint has: logging
// and tracing, under name.
func Observe(log *slog.Logger, name string, e endpoint.Endpoint) endpoint.Endpoint {
	return Logging(log, name)(Tracing(name)(e))
}

// Server is a go-kit HTTP server for e with the shared options, answering
// with status.
func Server(log *slog.Logger, e endpoint.Endpoint, dec httptransport.DecodeRequestFunc, status int) *httptransport.Server {
	return httptransport.NewServer(e, dec, EncodeJSON(log, status), ServerOptions(log)...)
}

// Response is an endpoint's response: a value to write as the JSON body, or
// the business error that replaces it (endpoint.Failer).
type Response[T any] struct {
	Value T
	Err   error
}

// Failed implements endpoint.Failer.
func (r Response[T]) Failed() error { return r.Err }

// Body implements Bodied.
func (r Response[T]) Body() any { return r.Value }

var _ endpoint.Failer = Response[int]{}

// Respond returns the Response of a service call, for endpoints' return.
func Respond[T any](v T, err error) (any, error) { return Response[T]{Value: v, Err: err}, nil }
