package milestone

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5"

	"github.com/campaign-live/campaign-live/pkg/consumer"
	"github.com/campaign-live/campaign-live/pkg/money"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/pkg/writesvc"
)

// Consume is the service's consumer handler (writesvc.Service.Consume): it
// counts each contribution event into its campaign's total and marks the
// milestones reached that the total now meets, in the consumer's
// transaction. doc.go says why that is exactly once.
func Consume(d writesvc.Deps) consumer.Handler {
	return progress{log: d.Log}.apply
}

type progress struct{ log *slog.Logger }

func (p progress) apply(ctx context.Context, tx pgx.Tx, e *campaignv1.Event) error {
	c := e.GetContribution()
	if c == nil {
		return nil
	}
	amount, err := money.ParseAmount(c.GetAmount())
	if err != nil || c.GetId() <= 0 || c.GetCampaignId() != e.GetCampaignId() {
		// Retrying cannot fix the record, and waiting on it would wedge its
		// partition; like an undecodable record, it is logged and skipped.
		p.log.ErrorContext(ctx, "skip malformed contribution event", "event_id", e.GetId(),
			"campaign_id", e.GetCampaignId(), "contribution_id", c.GetId(), "amount", c.GetAmount(), "err", err)
		return nil
	}
	at := e.GetOccurredAt().AsTime()
	if c.GetCreatedAt() != nil {
		at = c.GetCreatedAt().AsTime()
	}
	_, err = count(ctx, tx, counted{ID: c.GetId(), CampaignID: e.GetCampaignId(), Amount: amount, At: at})
	return err
}
