package contribution

import (
	"context"
	"embed"
	"net/http"

	"github.com/campaign-live/campaign-live/pkg/httpx"
	"github.com/campaign-live/campaign-live/pkg/kitx"
	"github.com/campaign-live/campaign-live/pkg/pgdb"
	"github.com/campaign-live/campaign-live/pkg/writesvc"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the service's schema.
func Migrations() pgdb.Migrations { return pgdb.Embedded(migrations, "contribution_schema_version") }

// NewHandler builds the service from its dependencies and routes it.
func NewHandler(_ context.Context, d writesvc.Deps) (http.Handler, error) {
	set := NewSet(NewService(NewStore(d.Pool), d.Campaigns), d.Verifier, d.Log)
	mux := http.NewServeMux()
	mux.Handle("POST /api/campaigns/{id}/contributions", kitx.Server(d.Log, set.Contribute, decodeContribute, http.StatusCreated))
	mux.HandleFunc("/", httpx.NotFound)
	return mux, nil
}

func decodeContribute(_ context.Context, r *http.Request) (any, error) {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return nil, err
	}
	req := contributeRequest{CampaignID: id, NewContribution: NewContribution{Key: r.Header.Get("Idempotency-Key")}}
	if err := httpx.DecodeJSON(nil, r, &req.NewContribution, httpx.MaxBody); err != nil {
		return nil, err
	}
	return req, nil
}
