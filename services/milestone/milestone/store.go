package milestone

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/outbox"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
)

const milestoneColumns = `id, campaign_id, title, target_amount::text, status, reached_at, created_at`

// lockTotal takes the lock on the campaign's total, creating it at zero if
// need be, and says whether the total meets target. See doc.go for why both
// writers take it.
const lockTotal = `
	INSERT INTO campaign_totals (campaign_id) VALUES ($1)
	ON CONFLICT (campaign_id) DO UPDATE SET raised = campaign_totals.raised
	RETURNING raised >= $2::numeric`

// PGStore keeps milestones in Postgres.
type PGStore struct{ pool *pgxpool.Pool }

// NewStore returns the Postgres store.
func NewStore(pool *pgxpool.Pool) *PGStore { return &PGStore{pool: pool} }

// CreateMilestone inserts the milestone and its event in one transaction,
// reached at once if the campaign's total already meets its target.
func (s *PGStore) CreateMilestone(ctx context.Context, n NewMilestone) (event.MilestoneData, error) {
	var m event.MilestoneData
	err := outbox.Write(ctx, s.pool, func(tx pgx.Tx) ([]*campaignv1.Event, error) {
		var reached bool
		if err := tx.QueryRow(ctx, lockTotal, n.CampaignID, n.TargetAmount).Scan(&reached); err != nil {
			return nil, fmt.Errorf("lock campaign %d total: %w", n.CampaignID, err)
		}
		var err error
		m, err = scanMilestone(tx.QueryRow(ctx, `
			INSERT INTO milestones (campaign_id, title, target_amount, status, reached_at)
			VALUES ($1, $2, $3, CASE WHEN $4::boolean THEN 'reached' ELSE 'pending' END, CASE WHEN $4 THEN now() END)
			RETURNING `+milestoneColumns,
			n.CampaignID, n.Title, n.TargetAmount, reached))
		if err != nil {
			return nil, fmt.Errorf("insert milestone: %w", err)
		}
		e, err := milestoneEvent(m)
		return []*campaignv1.Event{e}, err
	})
	return m, err
}

// counted is a contribution as the totals see it.
type counted struct {
	ID, CampaignID int64
	Amount         string // normalized by money.ParseAmount
	At             time.Time
}

// count adds c to its campaign's total in tx, once per contribution id, and
// marks reached, with one event each, the milestones the new total meets.
// It returns them, lowest target first.
func count(ctx context.Context, tx pgx.Tx, c counted) ([]event.MilestoneData, error) {
	// Both statements go in one round trip; the second still runs after
	// the first, as a statement of its own, so that under READ COMMITTED
	// it sees every milestone committed before this transaction got the
	// total's lock (doc.go). It reads the new total itself rather than
	// waiting for the first's answer. For a contribution counted before
	// (the same event published again) the first adds nothing and the
	// second finds nothing left to reach at that total.
	var ms []event.MilestoneData
	b := &pgx.Batch{}
	b.Queue(`
		WITH first AS (
			INSERT INTO counted_contributions (contribution_id, campaign_id, amount) VALUES ($1, $2, $3)
			ON CONFLICT (contribution_id) DO NOTHING
			RETURNING campaign_id, amount)
		INSERT INTO campaign_totals (campaign_id, raised) SELECT campaign_id, amount FROM first
		ON CONFLICT (campaign_id) DO UPDATE SET raised = campaign_totals.raised + EXCLUDED.raised`,
		c.ID, c.CampaignID, c.Amount)
	b.Queue(`
		WITH reached AS (
			UPDATE milestones SET status = 'reached', reached_at = greatest($2, created_at)
			WHERE campaign_id = $1 AND status = 'pending'
				AND target_amount <= (SELECT raised FROM campaign_totals WHERE campaign_id = $1)
			RETURNING `+milestoneColumns+`
		)
		SELECT * FROM reached ORDER BY target_amount::numeric, id`, c.CampaignID, c.At).
		Query(func(rows pgx.Rows) (err error) {
			ms, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (event.MilestoneData, error) { return scanMilestone(r) })
			return err
		})
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("count contribution %d into campaign %d total and reach its milestones: %w", c.ID, c.CampaignID, err)
	}
	for _, m := range ms {
		e, err := milestoneEvent(m)
		if err != nil {
			return nil, err
		}
		if err := outbox.Enqueue(ctx, tx, e, ""); err != nil {
			return nil, err
		}
	}
	return ms, nil
}

func scanMilestone(row pgx.Row) (event.MilestoneData, error) {
	var (
		m       event.MilestoneData
		reached *time.Time
	)
	err := row.Scan(&m.ID, &m.Campaign, &m.Title, &m.TargetAmount, &m.Status, &reached, &m.CreatedAt.Time)
	if reached != nil {
		m.ReachedAt.Time = *reached
	}
	return m, err
}

// milestoneEvent is m's event; it occurs when m is created or reached.
func milestoneEvent(m event.MilestoneData) (*campaignv1.Event, error) {
	p := &campaignv1.Milestone{
		Id: m.ID, CampaignId: m.Campaign, Title: m.Title, TargetAmount: m.TargetAmount,
		Status: m.Status, CreatedAt: timestamppb.New(m.CreatedAt.Time),
	}
	at := m.CreatedAt.Time
	if !m.ReachedAt.IsZero() {
		p.ReachedAt, at = timestamppb.New(m.ReachedAt.Time), m.ReachedAt.Time
	}
	return event.New("milestone", m.Campaign, at, p)
}
