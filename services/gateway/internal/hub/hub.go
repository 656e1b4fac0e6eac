package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/gorilla/websocket"

	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
)

// Kind tells a socket's writer how to treat a Frame.
type Kind uint8

// Kinds of frame.
const (
	// Event is a campaign event: written only if its position is after the
	// last position the socket has sent.
	Event Kind = iota + 1
	// Snapshot is a campaign_data frame: written as is, and the socket's
	// position becomes its position.
	Snapshot
	// Reply answers the client (pong, error): written as is.
	Reply
	// Barrier means the socket may have missed events: its writer waits for
	// the Resync and writes the snapshot it brings.
	Barrier
)

// Frame is one message ready to be written to any number of sockets. It is
// shared and must not be changed once offered.
type Frame struct {
	Kind Kind
	Msg  *websocket.PreparedMessage // nil on a Barrier
	Pos  cursor.Position            // Event and Snapshot
	// OccurredAt is when the event was written (Unix ns), for
	// publish-to-deliver latency once metrics exist.
	OccurredAt int64
	// Private and OwnerID are the campaign's visibility, on a Snapshot.
	Private bool
	OwnerID int64
	Resync  *Resync // Barrier
}

// NewFrame returns a frame of kind k with the text message b at pos.
func NewFrame(k Kind, b []byte, pos cursor.Position) (*Frame, error) {
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, b)
	if err != nil {
		return nil, fmt.Errorf("prepare frame: %w", err)
	}
	return &Frame{Kind: k, Msg: pm, Pos: pos}, nil
}

// SnapshotFrame returns the Snapshot frame of a found campaign, with the
// campaign's visibility read from its campaign_data once for all sockets.
func SnapshotFrame(resp *campaignv1.SnapshotResponse) (*Frame, error) {
	// The response carries no visibility of its own, so read it from the
	// frame: {"type":"campaign_data","data":{"owner":{"id":..},"private":..}}.
	var probe struct {
		Data struct {
			Owner struct {
				ID int64 `json:"id"`
			} `json:"owner"`
			Private bool `json:"private"`
		} `json:"data"`
	}
	if err := json.Unmarshal(resp.GetFrame(), &probe); err != nil {
		return nil, fmt.Errorf("read campaign_data: %w", err)
	}
	f, err := NewFrame(Snapshot, resp.GetFrame(), cursor.FromPB(resp.GetPosition()))
	if err != nil {
		return nil, err
	}
	f.Private, f.OwnerID = probe.Data.Private, probe.Data.Owner.ID
	return f, nil
}

// ErrNotFound is a Resync's error when the campaign has no view any more.
var ErrNotFound = errors.New("campaign not found")

// Resync is a fresh snapshot that Barrier frames wait for.
type Resync struct {
	done chan struct{}
	snap *Frame
	err  error
}

func newResync() *Resync { return &Resync{done: make(chan struct{})} }

// Done is closed when Result is known.
func (r *Resync) Done() <-chan struct{} { return r.done }

// Result returns the Snapshot frame to write, or why there is none
// (ErrNotFound, or the snapshot failed). Call it after Done is closed.
func (r *Resync) Result() (*Frame, error) { return r.snap, r.err }

func (r *Resync) complete(snap *Frame, err error) {
	r.snap, r.err = snap, err
	close(r.done)
}

// Subscriber is a socket that frames are offered to.
type Subscriber interface {
	// Deliver offers f. It must not block: a subscriber whose queue is full
	// closes itself. It is called with the room locked.
	Deliver(f *Frame)
}

// Snapshotter reads a campaign's view; *fanoutlink.Link is one.
type Snapshotter interface {
	Snapshot(ctx context.Context, campaignID int64) (*campaignv1.SnapshotResponse, error)
}

// Hub is the set of rooms of one gateway. It is safe for concurrent use.
type Hub struct {
	snap    Snapshotter
	log     *slog.Logger
	workers int // concurrent resync snapshots per Reconnected call

	mu    sync.RWMutex
	rooms map[int64]*room
}

type room struct {
	id   int64
	mu   sync.Mutex
	subs []*Subscription
	last cursor.Position // of the last dispatched delivery, when seen
	seen bool
}

// Subscription is a subscriber's place in a room, for Detach.
type Subscription struct {
	room *room
	sub  Subscriber
	i    int // index in room.subs, kept by swap-removal
}

// New returns an empty hub that reads resync snapshots through snap.
func New(snap Snapshotter, log *slog.Logger) *Hub {
	return &Hub{snap: snap, log: log, workers: 8, rooms: make(map[int64]*room)}
}

// Attach adds s to campaignID's room; from now on s is offered the
// campaign's deliveries.
func (h *Hub) Attach(campaignID int64, s Subscriber) *Subscription {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[campaignID]
	if r == nil {
		r = &room{id: campaignID}
		h.rooms[campaignID] = r
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	sub := &Subscription{room: r, sub: s, i: len(r.subs)}
	r.subs = append(r.subs, sub)
	return sub
}

// Detach removes a subscription; the room goes with its last subscriber.
// Detaching twice is harmless.
func (h *Hub) Detach(sub *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := sub.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if sub.i < 0 {
		return
	}
	last := len(r.subs) - 1
	moved := r.subs[last]
	r.subs[sub.i], moved.i = moved, sub.i
	r.subs[last] = nil
	r.subs = r.subs[:last]
	sub.i = -1
	if len(r.subs) == 0 && h.rooms[r.id] == r {
		delete(h.rooms, r.id)
	}
}

func (h *Hub) room(campaignID int64) *room {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.rooms[campaignID]
}

// Watchers returns how many subscribers campaignID has.
func (h *Hub) Watchers(campaignID int64) int {
	r := h.room(campaignID)
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.subs)
}

// Deliver dispatches one delivery from a fanout stream to every subscriber
// of its campaign. It does not block on sockets.
func (h *Hub) Deliver(d *campaignv1.Delivery) {
	r := h.room(d.GetCampaignId())
	if r == nil {
		return // nobody watches here any more; fanout learns it from Unsubscribe
	}
	pos := cursor.FromPB(d.GetPosition())
	f, err := NewFrame(Event, d.GetFrame(), pos)
	if err != nil {
		h.log.Error("drop delivery", "campaign_id", d.GetCampaignId(), "event_id", d.GetEventId(), "err", err)
		return
	}
	f.OccurredAt = d.GetOccurredAtUnixNano()

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen && !r.last.Less(pos) {
		return // a duplicate, pushed again after a rebalance
	}
	r.last, r.seen = pos, true
	for _, s := range r.subs {
		s.sub.Deliver(f)
	}
}

// Reconnected resyncs the sockets of campaignIDs after a fanout stream came
// back: it queues a Barrier in each of them now, in order with deliveries,
// and completes it with a fresh snapshot read on other goroutines under ctx.
func (h *Hub) Reconnected(ctx context.Context, campaignIDs []int64) {
	type job struct {
		id int64
		rs *Resync
	}
	var jobs []job
	for _, id := range campaignIDs {
		r := h.room(id)
		if r == nil {
			continue
		}
		rs := newResync()
		f := &Frame{Kind: Barrier, Resync: rs}
		r.mu.Lock()
		for _, s := range r.subs {
			s.sub.Deliver(f)
		}
		r.mu.Unlock()
		jobs = append(jobs, job{id, rs})
	}
	if len(jobs) == 0 {
		return
	}
	h.log.Info("resync after fanout reconnect", "campaigns", len(jobs))
	queue := make(chan job, len(jobs))
	for _, j := range jobs {
		queue <- j
	}
	close(queue)
	for range min(h.workers, len(jobs)) {
		go func() {
			for j := range queue {
				j.rs.complete(h.snapshot(ctx, j.id))
			}
		}()
	}
}

func (h *Hub) snapshot(ctx context.Context, campaignID int64) (*Frame, error) {
	resp, err := h.snap.Snapshot(ctx, campaignID)
	if err != nil {
		h.log.Warn("resync snapshot failed", "campaign_id", campaignID, "err", err)
		return nil, err
	}
	if !resp.GetFound() {
		return nil, ErrNotFound
	}
	return SnapshotFrame(resp)
}
