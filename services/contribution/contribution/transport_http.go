package contribution

import (
	"context"
	"embed"
	"io/fs"
	"net/http"

	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/campaign-live/campaign-live/pkg/httpx"
	"github.com/campaign-live/campaign-live/pkg/pgdb"
	"github.com/campaign-live/campaign-live/pkg/writesvc"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the service's schema.
func Migrations() pgdb.Migrations {
	sub, _ := fs.Sub(migrations, "migrations")
	return pgdb.Migrations{Table: "contribution_schema_version", FS: sub}
}

// NewHandler builds the service from its dependencies and routes it.
func NewHandler(_ context.Context, d writesvc.Deps) (http.Handler, error) {
	var s Service = NewService(NewStore(d.Pool))
	s = LoggingMiddleware(d.Log)(s)
	return MakeHTTPHandler(NewSet(s, d.Verifier), d), nil
}

// MakeHTTPHandler routes the REST API to the endpoints.
func MakeHTTPHandler(set Set, d writesvc.Deps) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /api/campaigns/{id}/contributions", httptransport.NewServer(set.Contribute,
		decodeContribute, httpx.EncodeJSON(d.Log, http.StatusCreated), httpx.ServerOptions(d.Log)...))
	mux.HandleFunc("/", httpx.NotFound)
	return mux
}

func decodeContribute(_ context.Context, r *http.Request) (any, error) {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return nil, err
	}
	req := contributeRequest{CampaignID: id}
	if err := httpx.DecodeJSON(nil, r, &req.NewContribution, httpx.MaxBody); err != nil {
		return nil, err
	}
	return req, nil
}
