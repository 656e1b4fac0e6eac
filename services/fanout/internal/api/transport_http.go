package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"

	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/problem"
)

// NewHTTPHandler serves GET /api/live/campaigns/{id}: the campaign_data
// frame, byte for byte as gateways send it, or problem JSON.
func NewHTTPHandler(set Set, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /api/live/campaigns/{id}", httptransport.NewServer(
		set.Campaign, decodeCampaignRequest, encodeCampaignResponse,
		httptransport.ServerBefore(auth.TokenToContext),
		httptransport.ServerErrorEncoder(problem.ErrorEncoder(log)),
	))
	return mux
}

func decodeCampaignRequest(_ context.Context, r *http.Request) (any, error) {
	raw := r.PathValue("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 || !digits(raw) {
		return nil, problem.InvalidField("id", "must be a campaign id (digits)")
	}
	return campaignRequest{ID: id}, nil
}

// digits rejects what ParseInt accepts besides digits ("+7").
func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// encodeCampaignResponse returns a business error to go-kit, whose error
// encoder (problem.ErrorEncoder) writes it: one place maps errors to status.
func encodeCampaignResponse(_ context.Context, w http.ResponseWriter, response any) error {
	resp := response.(campaignResponse)
	if resp.Err != nil {
		return resp.Err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	// The view changes with every event: a cached copy would be stale at once.
	h.Set("Cache-Control", "no-store")
	_, err := w.Write(resp.Frame)
	return err
}
