package httpx

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/campaign-live/campaign-live/pkg/auth"
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
		return WriteJSON(w, status, response)
	}
}

// NotFound answers every unrouted request with problem JSON.
func NotFound(w http.ResponseWriter, _ *http.Request) {
	problem.Write(w, problem.New(problem.NotFound, "not found"))
}
