package milestone

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

// Migrations is the service's schema: milestones, and the totals and counted
// contributions that decide when one is reached.
func Migrations() pgdb.Migrations { return pgdb.Embedded(migrations, "milestone_schema_version") }

// NewHandler builds the service from its dependencies and routes it. It
// needs d.Campaigns (writesvc.Service.Replica).
func NewHandler(_ context.Context, d writesvc.Deps) (http.Handler, error) {
	add := kitx.Server(d.Log, NewSet(NewService(d.Campaigns, NewStore(d.Pool)), d.Verifier, d.Log).AddMilestone,
		decodeAddMilestone, http.StatusCreated)
	mux := http.NewServeMux()
	mux.Handle("POST /api/campaigns/{id}/milestones", add)
	mux.HandleFunc("/", httpx.NotFound)
	return mux, nil
}

// decodeAddMilestone reads the milestone from the body and the campaign from
// the path.
func decodeAddMilestone(_ context.Context, r *http.Request) (any, error) {
	var m NewMilestone
	if err := httpx.DecodeJSON(nil, r, &m, httpx.MaxBody); err != nil {
		return nil, err
	}
	id, err := httpx.PathID(r, "id")
	m.CampaignID = id
	return m, err
}
