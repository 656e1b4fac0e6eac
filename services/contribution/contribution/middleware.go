package contribution

import (
	"context"
	"log/slog"
	"time"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/event"
)

// Middleware decorates a Service.
type Middleware func(Service) Service

// LoggingMiddleware logs every contribution with its outcome and duration.
func LoggingMiddleware(log *slog.Logger) Middleware {
	return func(next Service) Service { return logging{next: next, log: log} }
}

type logging struct {
	next Service
	log  *slog.Logger
}

func (m logging) Contribute(ctx context.Context, by auth.User, campaignID int64, c NewContribution) (out event.ContributionData, err error) {
	defer func(begin time.Time) {
		m.log.InfoContext(ctx, "contribute", "campaign_id", campaignID, "contribution_id", out.ID,
			"user_id", by.ID, "took", time.Since(begin).String(), "err", err)
	}(time.Now())
	return m.next.Contribute(ctx, by, campaignID, c)
}
