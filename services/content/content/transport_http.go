package content

import (
	"context"
	"embed"
	"net/http"

	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/campaign-live/campaign-live/pkg/httpx"
	"github.com/campaign-live/campaign-live/pkg/kitx"
	"github.com/campaign-live/campaign-live/pkg/pgdb"
	"github.com/campaign-live/campaign-live/pkg/writesvc"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the service's schema.
func Migrations() pgdb.Migrations { return pgdb.Embedded(migrations, "content_schema_version") }

// NewHandler builds the service from its dependencies and routes it.
func NewHandler(_ context.Context, d writesvc.Deps) (http.Handler, error) {
	set := NewSet(NewService(NewStore(d.Pool)), d.Verifier, d.Log)
	mux := http.NewServeMux()
	mux.Handle("POST /api/campaigns", kitx.Server(d.Log, set.CreateCampaign, decodeCreateCampaign, http.StatusCreated))
	mux.Handle("GET /api/campaigns", kitx.Server(d.Log, set.ListCampaigns, httptransport.NopRequestDecoder, http.StatusOK))
	mux.Handle("GET /api/campaigns/{id}", kitx.Server(d.Log, set.GetCampaign, decodeGetCampaign, http.StatusOK))
	mux.Handle("POST /api/campaigns/{id}/updates", kitx.Server(d.Log, set.PostUpdate, decodePost[NewUpdate], http.StatusCreated))
	mux.Handle("POST /api/campaigns/{id}/releases", kitx.Server(d.Log, set.PostRelease, decodePost[NewRelease], http.StatusCreated))
	mux.HandleFunc("/", httpx.NotFound)
	return mux, nil
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

func decodePost[T any](_ context.Context, r *http.Request) (any, error) {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return nil, err
	}
	req := postRequest[T]{CampaignID: id}
	if err := httpx.DecodeJSON(nil, r, &req.Post, httpx.MaxBody); err != nil {
		return nil, err
	}
	return req, nil
}
