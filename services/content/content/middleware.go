package content

import (
	"context"
	"log/slog"
	"time"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/event"
)

// Middleware decorates a Service.
type Middleware func(Service) Service

// LoggingMiddleware logs every write with its outcome and duration.
func LoggingMiddleware(log *slog.Logger) Middleware {
	return func(next Service) Service { return logging{next: next, log: log} }
}

type logging struct {
	next Service
	log  *slog.Logger
}

func (m logging) CreateCampaign(ctx context.Context, by auth.User, c NewCampaign) (out event.CampaignData, err error) {
	defer func(begin time.Time) {
		m.log.InfoContext(ctx, "create campaign", "campaign_id", out.ID, "user_id", by.ID,
			"took", time.Since(begin).String(), "err", err)
	}(time.Now())
	return m.next.CreateCampaign(ctx, by, c)
}

func (m logging) GetCampaign(ctx context.Context, id int64) (event.CampaignData, error) {
	return m.next.GetCampaign(ctx, id)
}

func (m logging) ListCampaigns(ctx context.Context) ([]event.CampaignData, error) {
	return m.next.ListCampaigns(ctx)
}
