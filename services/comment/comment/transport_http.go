package comment

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
func Migrations() pgdb.Migrations { return pgdb.Embedded(migrations, "comment_schema_version") }

// NewHandler builds the service from its dependencies and routes it. It
// needs d.Campaigns (writesvc.Service.Replica).
func NewHandler(_ context.Context, d writesvc.Deps) (http.Handler, error) {
	set := NewSet(NewService(d.Campaigns, NewStore(d.Pool)), d.Verifier, d.Log)
	mux := http.NewServeMux()
	mux.Handle("POST /api/campaigns/{id}/comments", kitx.Server(d.Log, set.Comment, decodeComment, http.StatusCreated))
	mux.HandleFunc("/", httpx.NotFound)
	return mux, nil
}

// decodeComment reads the campaign from the path, then the comment from the
// body; a bad id is refused before the body is read.
func decodeComment(_ context.Context, r *http.Request) (any, error) {
	var (
		c   NewComment
		err error
	)
	if c.CampaignID, err = httpx.PathID(r, "id"); err != nil {
		return nil, err
	}
	if err = httpx.DecodeJSON(nil, r, &c, httpx.MaxBody); err != nil {
		return nil, err
	}
	return c, nil
}
