package content

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
	return pgdb.Migrations{Table: "content_schema_version", FS: sub}
}

// NewHandler builds the service from its dependencies and routes it.
func NewHandler(_ context.Context, d writesvc.Deps) (http.Handler, error) {
	var s Service = NewService(NewStore(d.Pool))
	s = LoggingMiddleware(d.Log)(s)
	return MakeHTTPHandler(NewSet(s, d.Verifier), d), nil
}

// MakeHTTPHandler routes the REST API to the endpoints.
func MakeHTTPHandler(set Set, d writesvc.Deps) http.Handler {
	opts := httpx.ServerOptions(d.Log)
	mux := http.NewServeMux()
	mux.Handle("POST /api/campaigns", httptransport.NewServer(set.CreateCampaign,
		decodeCreateCampaign, httpx.EncodeJSON(d.Log, http.StatusCreated), opts...))
	mux.Handle("GET /api/campaigns", httptransport.NewServer(set.ListCampaigns,
		httptransport.NopRequestDecoder, httpx.EncodeJSON(d.Log, http.StatusOK), opts...))
	mux.Handle("GET /api/campaigns/{id}", httptransport.NewServer(set.GetCampaign,
		decodeGetCampaign, httpx.EncodeJSON(d.Log, http.StatusOK), opts...))
	mux.HandleFunc("/", httpx.NotFound)
	return mux
}

func decodeCreateCampaign(_ context.Context, r *http.Request) (any, error) {
	var req createCampaignRequest
	if err := httpx.DecodeJSON(nil, r, &req.NewCampaign, httpx.MaxBody); err != nil {
		return nil, err
	}
	return req, nil
}

func decodeGetCampaign(_ context.Context, r *http.Request) (any, error) {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return nil, err
	}
	return getCampaignRequest{ID: id}, nil
}
