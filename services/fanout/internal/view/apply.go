package view

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/money"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
)

// Record is one event as read from the topic.
type Record struct {
	Event *campaignv1.Event
	// At is where the record was read (partition and offset), with the
	// lowest epoch to use (CURSOR_EPOCH) as its epoch.
	At cursor.Position
}

// The recent lists of campaign_view, in the order the SQL below names
// their columns.
const (
	listUpdates = iota
	listReleases
	listMilestones
	listComments
	listContributions
	numLists
	noList = -1 // campaign events change the campaign's own fields
)

var listOf = map[string]int{
	event.TypeCampaign:     noList,
	event.TypeUpdate:       listUpdates,
	event.TypeRelease:      listReleases,
	event.TypeMilestone:    listMilestones,
	event.TypeComment:      listComments,
	event.TypeContribution: listContributions,
}

// Apply applies e, read at partition at.Partition and offset at.Offset, to
// the view in one transaction; it is ApplyBatch of one record, returning
// the record's Err as its error.
func (s *Store) Apply(ctx context.Context, e *campaignv1.Event, at cursor.Position) (Result, error) {
	res, err := s.ApplyBatch(ctx, []Record{{Event: e, At: at}})
	if err != nil {
		return Result{}, err
	}
	if res[0].Err != nil {
		return Result{}, res[0].Err
	}
	return res[0], nil
}

// ApplyBatch applies recs, in order, to the view in one transaction, with
// the same effect as applying each in its own transaction one after the
// other: for each event it records the id (deduplicating), decides the
// position's epoch, keeps the event's frame in history, changes the view
// and stores the position the view reflects. at.Epoch is the lowest epoch
// to use (CURSOR_EPOCH); the partition's stored epoch is used when higher,
// and goes up when the partition's log is found to have begun again (see
// Result.NewEpoch). Ids seen before, in an earlier transaction or earlier
// in recs, are duplicates: the view is left as it was.
//
// It returns one Result per record. A record whose event can never be
// applied (a type it does not know, an amount that is not a decimal) has
// only Err set, wrapping event.ErrInvalid, and changes nothing; the others
// are applied. An error from ApplyBatch itself means nothing was applied
// and is worth retrying.
//
// The transaction takes three round trips whatever the batch's size: its
// begin with the locks and reads (partition rows, then campaign rows,
// each in ascending order so concurrent owners during a rebalance
// serialize without deadlocks), then every write, then the commit.
func (s *Store) ApplyBatch(ctx context.Context, recs []Record) ([]Result, error) {
	results := make([]Result, len(recs))
	todo := make([]pending, 0, len(recs))
	for i, r := range recs {
		p, err := prepare(r.Event)
		if err != nil {
			results[i].Err = fmt.Errorf("apply %s event %s: %w", r.Event.GetType(), r.Event.GetId(), err)
			continue
		}
		p.index, p.at = i, r.At
		todo = append(todo, p)
	}
	if len(todo) == 0 {
		return results, nil
	}
	if err := s.applyTx(ctx, todo, results); err != nil {
		return nil, fmt.Errorf("apply %d events: %w", len(todo), err)
	}
	return results, nil
}

// pending is a record ready to apply: everything about it that does not
// depend on the view is worked out before the transaction.
type pending struct {
	index  int // in the batch
	e      *campaignv1.Event
	at     cursor.Position
	list   int    // the recent list it goes to, or noList
	item   []byte // its data as the browser sees it
	amount string // of a contribution, validated
}

func prepare(e *campaignv1.Event) (pending, error) {
	list, ok := listOf[e.GetType()]
	if !ok {
		return pending{}, fmt.Errorf("%w: type %q", event.ErrInvalid, e.GetType())
	}
	p := pending{e: e, list: list}
	data, err := event.Data(e)
	if err != nil {
		return pending{}, err
	}
	if p.item, err = json.Marshal(data); err != nil {
		// The same bytes would fail the same way on every retry.
		return pending{}, fmt.Errorf("%w: encode %s: %v", event.ErrInvalid, e.GetType(), err)
	}
	if c := e.GetContribution(); c != nil {
		if p.amount, err = money.ParseAmount(c.GetAmount()); err != nil {
			return pending{}, fmt.Errorf("%w: contribution amount %q: %v", event.ErrInvalid, c.GetAmount(), err)
		}
	}
	return p, nil
}

// partitionState is a partition's row of partition_epoch.
type partitionState struct {
	epoch uint32
	high  int64 // highest offset applied in epoch; -1 for none
}

// campaignState is a campaign's row of campaign_view as the batch changes
// it, event by event.
type campaignState struct {
	want     int // bit i: the batch has an event for list i, so read it
	pos      cursor.Position
	lists    [numLists][]byte
	changed  [numLists]bool
	campaign []byte // its campaign event's data, if the batch has one
	moved    bool   // the row needs writing
}

const (
	// The statements below take arrays, so one plan suits every batch
	// (index lookups per element); planning them afresh for each batch's
	// values, which Postgres does at first and may go on doing, was over a
	// third of the server's CPU for one-event batches.
	sqlGenericPlans = `SET LOCAL plan_cache_mode = force_generic_plan`
	// Lock the batch's partitions, creating their rows at the floor
	// epoch. An upsert would lock them in one statement, but it writes a
	// new version of every row each time (WAL, and dead rows to vacuum);
	// an insert that does nothing for existing rows and a SELECT FOR
	// UPDATE write none.
	sqlCreatePartitions = `
		INSERT INTO partition_epoch (partition, epoch, high_offset)
		SELECT p, e, -1 FROM unnest($1::int[], $2::bigint[]) AS t(p, e)
		ON CONFLICT (partition) DO NOTHING`
	sqlLockPartitions = `
		SELECT partition, epoch, high_offset FROM partition_epoch
		WHERE partition = ANY($1::int[])
		ORDER BY partition
		FOR UPDATE`
	// Record the batch's event ids; those returned are new.
	sqlSeen = `
		INSERT INTO event_seen (event_id) SELECT unnest($1::text[])
		ON CONFLICT (event_id) DO NOTHING
		RETURNING event_id`
	// Lock the batch's campaigns, creating their rows on their first
	// event, and read their position and the lists the batch adds to
	// (bit i of lists: the i-th list column).
	sqlCreateCampaigns = `
		INSERT INTO campaign_view (campaign_id) SELECT unnest($1::bigint[])
		ON CONFLICT (campaign_id) DO NOTHING`
	sqlLockCampaigns = `
		SELECT v.campaign_id, v.pos_epoch, v.pos_partition, v.pos_offset,
			CASE WHEN w.lists & 1 <> 0 THEN v.updates END,
			CASE WHEN w.lists & 2 <> 0 THEN v.releases END,
			CASE WHEN w.lists & 4 <> 0 THEN v.milestones END,
			CASE WHEN w.lists & 8 <> 0 THEN v.comments END,
			CASE WHEN w.lists & 16 <> 0 THEN v.contributions END
		FROM campaign_view v JOIN unnest($1::bigint[], $2::int[]) AS w(campaign_id, lists) USING (campaign_id)
		ORDER BY v.campaign_id
		FOR UPDATE OF v`
	sqlStoredDeliveries = `
		SELECT event_id, campaign_id, event_type, pos_epoch, pos_partition, pos_offset, frame, occurred_at
		FROM history WHERE event_id = ANY($1::text[]) AND frame IS NOT NULL`
	sqlInsertHistory = `
		INSERT INTO history (event_id, campaign_id, event_type, pos_epoch, pos_partition, pos_offset, frame, occurred_at)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::int[], $6::bigint[],
			$7::bytea[], $8::timestamptz[])`
	// Write each changed campaign row: a NULL list or campaign is left as
	// it was; contributions are summed by Postgres, exactly.
	sqlUpdateViews = `
		WITH sums AS (
			SELECT campaign_id, sum(amount::numeric) AS raised, count(*) AS n
			FROM unnest($1::bigint[], $2::text[]) AS a(campaign_id, amount)
			GROUP BY campaign_id
		)
		UPDATE campaign_view v SET
			campaign = coalesce(u.campaign, v.campaign),
			raised_amount = v.raised_amount + coalesce(s.raised, 0),
			contribution_count = v.contribution_count + coalesce(s.n, 0),
			updates = coalesce(u.updates, v.updates),
			releases = coalesce(u.releases, v.releases),
			milestones = coalesce(u.milestones, v.milestones),
			comments = coalesce(u.comments, v.comments),
			contributions = coalesce(u.contributions, v.contributions),
			pos_epoch = u.pos_epoch, pos_partition = u.pos_partition, pos_offset = u.pos_offset,
			updated_at = now()
		FROM unnest($3::bigint[], $4::json[], $5::json[], $6::json[], $7::json[], $8::json[], $9::json[],
				$10::bigint[], $11::int[], $12::bigint[])
			AS u(campaign_id, campaign, updates, releases, milestones, comments, contributions,
				pos_epoch, pos_partition, pos_offset)
			LEFT JOIN sums s USING (campaign_id)
		WHERE v.campaign_id = u.campaign_id`
	sqlUpdatePartitions = `
		UPDATE partition_epoch p SET epoch = u.epoch, high_offset = u.high
		FROM unnest($1::int[], $2::bigint[], $3::bigint[]) AS u(partition, epoch, high)
		WHERE p.partition = u.partition`
)

// applyTx applies todo in one transaction and fills their results.
func (s *Store) applyTx(ctx context.Context, todo []pending, results []Result) error {
	var (
		parts  = map[int32]*partitionState{}
		floors = map[int32]uint32{}
		camps  = map[int64]*campaignState{}
		fresh  = map[string]bool{}
	)
	for _, p := range todo {
		floors[p.at.Partition] = max(floors[p.at.Partition], p.at.Epoch)
		c := camps[p.e.GetCampaignId()]
		if c == nil {
			c = &campaignState{}
			camps[p.e.GetCampaignId()] = c
		}
		if p.list != noList {
			c.want |= 1 << p.list
		}
		fresh[p.e.GetId()] = false
	}

	// Round trip 1: begin, lock and read.
	partIDs := slices.Sorted(maps.Keys(floors))
	partFloors := make([]int64, len(partIDs))
	for i, id := range partIDs {
		partFloors[i] = int64(floors[id])
	}
	campIDs := slices.Sorted(maps.Keys(camps))
	wants := make([]int32, len(campIDs))
	for i, id := range campIDs {
		wants[i] = int32(camps[id].want)
	}
	var b pgx.Batch
	b.BeginTx(pgx.TxOptions{})
	b.Queue(sqlGenericPlans)
	b.Queue(sqlCreatePartitions, partIDs, partFloors)
	b.Queue(sqlLockPartitions, partIDs).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var (
				id    int32
				epoch int64
				p     partitionState
			)
			if err := rows.Scan(&id, &epoch, &p.high); err != nil {
				return err
			}
			p.epoch = uint32(epoch)
			if floor := floors[id]; floor > p.epoch {
				// An operator raised CURSOR_EPOCH: that epoch starts afresh.
				p.epoch, p.high = floor, -1
			}
			parts[id] = &p
		}
		return nil
	})
	b.Queue(sqlSeen, slices.Sorted(maps.Keys(fresh))).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			fresh[id] = true
		}
		return nil
	})
	b.Queue(sqlCreateCampaigns, campIDs)
	b.Queue(sqlLockCampaigns, campIDs, wants).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var (
				id    int64
				epoch int64
				pos   cursor.Position
				lists [numLists][]byte
			)
			if err := rows.Scan(&id, &epoch, &pos.Partition, &pos.Offset,
				&lists[listUpdates], &lists[listReleases], &lists[listMilestones], &lists[listComments],
				&lists[listContributions]); err != nil {
				return err
			}
			pos.Epoch = uint32(epoch)
			c := camps[id]
			c.pos, c.lists = pos, lists
		}
		return nil
	})
	br := s.pool.SendBatch(ctx, &b)
	tx := br.Tx()
	defer func() { _ = tx.Rollback(ctx) }()
	if err := br.Close(); err != nil {
		return fmt.Errorf("lock and read: %w", err)
	}
	if len(parts) != len(partIDs) || len(camps) != len(campIDs) {
		return fmt.Errorf("lock and read: %d of %d partitions, %d campaigns", len(parts), len(partIDs), len(camps))
	}

	// Each event in turn, in memory, as if alone in its transaction.
	var (
		w = writes{}
		// applied is the delivery of each event applied earlier in the
		// batch (nil for campaign events), which a duplicate later in the
		// batch pushes again.
		applied = map[string]*Delivery{}
		// stored lists the duplicates of earlier transactions, whose
		// delivery is read back from history.
		stored = map[string][]int{}
	)
	for _, p := range todo {
		e, at := p.e, p.at
		part, c := parts[at.Partition], camps[e.GetCampaignId()]
		isFresh := fresh[e.GetId()]
		fresh[e.GetId()] = false // a second time in the batch is a duplicate
		res := Result{}
		if isFresh && at.Offset <= part.high {
			// A new event where this partition has applied already: its
			// log began again.
			part.epoch++
			res.NewEpoch = true
		}
		pos := cursor.Position{Epoch: part.epoch, Partition: at.Partition, Offset: at.Offset}
		if isFresh && !c.pos.Zero() && !c.pos.Less(pos) {
			// A new event of this campaign that would sort before what the
			// campaign has shown: its partition changed under it (partitions
			// were added, moving keys). A new epoch keeps its cursors growing.
			part.epoch = max(part.epoch, c.pos.Epoch) + 1
			pos.Epoch = part.epoch
			res.NewEpoch = true
		}
		if res.NewEpoch {
			part.high = at.Offset
		} else {
			part.high = max(part.high, at.Offset)
		}
		res.Position = pos

		if !isFresh {
			// Applied before: a redelivery after a crash or rebalance, or
			// the outbox published it twice (then at a later position,
			// which the view now reflects).
			res.Duplicate = true
			if c.pos.Less(pos) {
				c.pos, c.moved = pos, true
			}
			if d, ok := applied[e.GetId()]; ok {
				res.Delivery = d
			} else {
				stored[e.GetId()] = append(stored[e.GetId()], p.index)
			}
			results[p.index] = res
			continue
		}

		var d *Delivery
		if p.list != noList {
			frame, err := event.Frame(e, cursor.Encode(pos))
			if err != nil {
				return err
			}
			d = &Delivery{
				CampaignID: e.GetCampaignId(), Position: pos, EventType: e.GetType(), EventID: e.GetId(),
				Frame: frame, OccurredAt: e.GetOccurredAt().AsTime(),
			}
		}
		w.history(e, pos, d)
		switch p.list {
		case noList:
			c.campaign = p.item
		default:
			list, err := prepend(c.lists[p.list], p.item, s.recent, p.list == listMilestones)
			if err != nil {
				return err
			}
			c.lists[p.list], c.changed[p.list] = list, true
			if p.list == listContributions {
				w.amountCampaigns = append(w.amountCampaigns, e.GetCampaignId())
				w.amounts = append(w.amounts, p.amount)
			}
		}
		c.pos, c.moved = pos, true
		applied[e.GetId()] = d
		res.Delivery = d
		results[p.index] = res
	}

	// Round trip 2: every write, and the deliveries of earlier duplicates.
	b = pgx.Batch{}
	if len(stored) > 0 {
		b.Queue(sqlStoredDeliveries, slices.Collect(maps.Keys(stored))).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				d := &Delivery{}
				var epoch int64
				if err := rows.Scan(&d.EventID, &d.CampaignID, &d.EventType, &epoch, &d.Position.Partition,
					&d.Position.Offset, &d.Frame, &d.OccurredAt); err != nil {
					return fmt.Errorf("read history: %w", err)
				}
				d.Position.Epoch = uint32(epoch)
				for _, i := range stored[d.EventID] {
					results[i].Delivery = d
				}
			}
			return nil
		})
	}
	if len(w.eventIDs) > 0 {
		b.Queue(sqlInsertHistory, w.eventIDs, w.campaignIDs, w.types, w.epochs, w.partitions, w.offsets,
			w.frames, w.occurred)
	}
	if v := viewWrites(camps); len(v.ids) > 0 {
		b.Queue(sqlUpdateViews, w.amountCampaigns, w.amounts, v.ids, v.campaigns,
			v.lists[listUpdates], v.lists[listReleases], v.lists[listMilestones], v.lists[listComments],
			v.lists[listContributions], v.epochs, v.partitions, v.offsets)
	}
	pe := make([]int64, len(partIDs))
	ph := make([]int64, len(partIDs))
	for i, id := range partIDs {
		pe[i], ph[i] = int64(parts[id].epoch), parts[id].high
	}
	b.Queue(sqlUpdatePartitions, partIDs, pe, ph)
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("write: %w", err)
	}

	// Round trip 3.
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// writes are the batch's new history rows, column by column, and its
// contributions' amounts by campaign.
type writes struct {
	eventIDs, types []string
	campaignIDs     []int64
	epochs, offsets []int64
	partitions      []int32
	frames          [][]byte // nil: a campaign event, which has none
	occurred        []time.Time
	amountCampaigns []int64
	amounts         []string
}

func (w *writes) history(e *campaignv1.Event, pos cursor.Position, d *Delivery) {
	w.eventIDs = append(w.eventIDs, e.GetId())
	w.campaignIDs = append(w.campaignIDs, e.GetCampaignId())
	w.types = append(w.types, e.GetType())
	w.epochs = append(w.epochs, int64(pos.Epoch))
	w.partitions = append(w.partitions, pos.Partition)
	w.offsets = append(w.offsets, pos.Offset)
	w.frames = append(w.frames, frameOf(d))
	w.occurred = append(w.occurred, e.GetOccurredAt().AsTime())
}

// views are the batch's changed campaign rows, column by column; a nil
// campaign or list leaves the stored one.
type views struct {
	ids             []int64
	campaigns       [][]byte
	lists           [numLists][][]byte
	epochs, offsets []int64
	partitions      []int32
}

func viewWrites(camps map[int64]*campaignState) views {
	var v views
	for _, id := range slices.SortedFunc(maps.Keys(camps), cmp.Compare) {
		c := camps[id]
		if !c.moved {
			continue
		}
		v.ids = append(v.ids, id)
		v.campaigns = append(v.campaigns, c.campaign)
		for l := range numLists {
			var list []byte
			if c.changed[l] {
				list = c.lists[l]
			}
			v.lists[l] = append(v.lists[l], list)
		}
		v.epochs = append(v.epochs, int64(c.pos.Epoch))
		v.partitions = append(v.partitions, c.pos.Partition)
		v.offsets = append(v.offsets, c.pos.Offset)
	}
	return v
}
