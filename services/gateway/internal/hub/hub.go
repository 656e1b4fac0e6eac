package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/pkg/telemetry"
)

const scope = "github.com/campaign-live/campaign-live/services/gateway/internal/hub"

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
	// Type is the message's "type" (campaign_data, contribution, pong,
	// ...), for metrics; empty on a Barrier.
	Type string
	Msg  *websocket.PreparedMessage // nil on a Barrier
	Pos  cursor.Position            // Event and Snapshot
	// OccurredAt is when a live delivery's event was written (Unix ns), for
	// the publish-to-deliver latency; zero on events read from history,
	// whose age is the client's absence rather than delivery latency.
	OccurredAt int64
	// Private and OwnerID are the campaign's visibility, on a Snapshot.
	Private bool
	OwnerID int64
	Resync  *Resync // Barrier
}

// TypeCampaignData is the type of a Snapshot frame's message.
const TypeCampaignData = "campaign_data"

// NewFrame returns a frame of kind k with the text message b, whose "type"
// is typ, at pos.
func NewFrame(k Kind, typ string, b []byte, pos cursor.Position) (*Frame, error) {
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, b)
	if err != nil {
		return nil, fmt.Errorf("prepare frame: %w", err)
	}
	return &Frame{Kind: k, Type: typ, Msg: pm, Pos: pos}, nil
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
	f, err := NewFrame(Snapshot, TypeCampaignData, resp.GetFrame(), cursor.FromPB(resp.GetPosition()))
	if err != nil {
		return nil, err
	}
	f.Private, f.OwnerID = probe.Data.Private, probe.Data.Owner.ID
	return f, nil
}

// ErrNotFound is a catch-up's error when the campaign has no view any more.
var ErrNotFound = errors.New("campaign not found")

// Visibility is who may see a campaign.
type Visibility struct {
	Private bool
	OwnerID int64
}

// Resync is what a Barrier frame carries: the point from which a socket may
// have missed events of its campaign. It becomes ready once reading history
// cannot miss them (the interest is in force again), and serves each socket
// the events after its own last position (Catchup). Sockets that stand at the
// same position share one read.
type Resync struct {
	hub      *Hub
	campaign int64
	ready    chan struct{}
	err      error // why the resync cannot happen; set before ready closes
	once     sync.Once

	mu      sync.Mutex
	flights map[cursor.Position]*flight
}

type flight struct {
	done   chan struct{}
	frames []*Frame
	vis    Visibility
	err    error
}

func (h *Hub) newResync(campaignID int64) *Resync {
	return &Resync{hub: h, campaign: campaignID, ready: make(chan struct{}), flights: make(map[cursor.Position]*flight)}
}

// complete makes the resync ready (err nil) or failed.
func (r *Resync) complete(err error) {
	r.once.Do(func() {
		r.err = err
		close(r.ready)
	})
}

// Catchup returns what a socket whose last position is after must write to
// have every event of the campaign: the events after it from history, in
// order (Event frames), or, when history no longer reaches back, one
// Snapshot frame. vis is the campaign's visibility. It waits until the
// resync is ready or ctx ends.
func (r *Resync) Catchup(ctx context.Context, after cursor.Position) (frames []*Frame, vis Visibility, err error) {
	select {
	case <-r.ready:
	case <-ctx.Done():
		return nil, vis, ctx.Err()
	}
	if r.err != nil {
		return nil, vis, r.err
	}
	r.mu.Lock()
	f := r.flights[after]
	if f == nil {
		f = &flight{done: make(chan struct{})}
		r.flights[after] = f
		go func() {
			// Not the first socket's context: the read is shared.
			fctx, cancel := context.WithTimeout(context.Background(), r.hub.readTimeout)
			defer cancel()
			f.frames, f.vis, f.err = r.hub.catchup(fctx, r.campaign, after)
			close(f.done)
		}()
	}
	r.mu.Unlock()
	select {
	case <-f.done:
		return f.frames, f.vis, f.err
	case <-ctx.Done():
		return nil, vis, ctx.Err()
	}
}

// catchup reads campaignID's history after `after`, or its snapshot when
// history does not reach back.
func (h *Hub) catchup(ctx context.Context, campaignID int64, after cursor.Position) ([]*Frame, Visibility, error) {
	if !after.Zero() {
		resp, err := h.fanout.History(ctx, campaignID, after)
		if err != nil {
			h.log.Warn("resync history failed", "campaign_id", campaignID, "err", err)
			return nil, Visibility{}, err
		}
		if !resp.GetFound() {
			return nil, Visibility{}, ErrNotFound
		}
		if resp.GetComplete() {
			frames, err := EventFrames(resp.GetDeliveries())
			return frames, Visibility{Private: resp.GetPrivate(), OwnerID: resp.GetOwnerId()}, err
		}
	}
	resp, err := h.fanout.Snapshot(ctx, campaignID)
	if err != nil {
		h.log.Warn("resync snapshot failed", "campaign_id", campaignID, "err", err)
		return nil, Visibility{}, err
	}
	if !resp.GetFound() {
		return nil, Visibility{}, ErrNotFound
	}
	f, err := SnapshotFrame(resp)
	if err != nil {
		return nil, Visibility{}, err
	}
	return []*Frame{f}, Visibility{Private: f.Private, OwnerID: f.OwnerID}, nil
}

// EventFrames returns the Event frames of deliveries read from history, in
// their order.
func EventFrames(ds []*campaignv1.Delivery) ([]*Frame, error) {
	frames := make([]*Frame, 0, len(ds))
	for _, d := range ds {
		f, err := NewFrame(Event, d.GetEventType(), d.GetFrame(), cursor.FromPB(d.GetPosition()))
		if err != nil {
			return nil, err
		}
		frames = append(frames, f)
	}
	return frames, nil
}

// Subscriber is a socket that frames are offered to.
type Subscriber interface {
	// Deliver offers f. It must not block: a subscriber whose queue is full
	// closes itself. It is called with the room locked.
	Deliver(f *Frame)
}

// Reader reads campaign views and history; *fanoutlink.Link is one.
type Reader interface {
	Snapshot(ctx context.Context, campaignID int64) (*campaignv1.SnapshotResponse, error)
	History(ctx context.Context, campaignID int64, after cursor.Position) (*campaignv1.HistoryResponse, error)
}

// Hub is the set of rooms of one gateway. It is safe for concurrent use.
type Hub struct {
	fanout      Reader
	log         *slog.Logger
	tracer      trace.Tracer
	readTimeout time.Duration // of one catch-up read

	mu    sync.RWMutex
	rooms map[int64]*room
}

type room struct {
	id   int64
	mu   sync.Mutex
	subs []*Subscription
	last cursor.Position // of the last dispatched delivery, when seen
	src  int             // the fanout stream it came from
	seen bool
}

// Subscription is a subscriber's place in a room, for Detach.
type Subscription struct {
	room *room
	sub  Subscriber
	i    int // index in room.subs, kept by swap-removal
}

// New returns an empty hub that reads catch-ups through fanout.
func New(fanout Reader, log *slog.Logger) *Hub {
	return &Hub{
		fanout: fanout, log: log, tracer: otel.Tracer(scope),
		readTimeout: 30 * time.Second, rooms: make(map[int64]*room),
	}
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

// Deliver dispatches one delivery from fanout stream src to every
// subscriber of its campaign. It does not block on sockets.
//
// When the campaign's deliveries came from another stream until now, its
// partition moved between fanout instances, and the old one may have
// committed events that never reached this gateway: a Barrier goes first,
// so every socket reads what it missed from history before this event.
//
// Each delivery is one span, "websocket send" (startSend).
func (h *Hub) Deliver(src int, d *campaignv1.Delivery) {
	span := h.startSend(d)
	sockets := h.dispatch(src, d)
	if span.IsRecording() {
		span.SetAttributes(attribute.Int("websocket.sockets", sockets))
	}
	span.End()
}

// startSend starts the one span of a delivery on this gateway, a child of
// fanout's span that its traceparent names. It ends once the frame is in
// the queue of every local watcher: a socket's own write is not traced, as
// one delivery reaches thousands of them. Attributes are set only on a
// span that records, so an untraced gateway builds none.
func (h *Hub) startSend(d *campaignv1.Delivery) trace.Span {
	_, span := h.tracer.Start(telemetry.WithTraceparent(context.Background(), d.GetTraceparent()), "websocket send",
		trace.WithSpanKind(trace.SpanKindProducer))
	if span.IsRecording() {
		span.SetAttributes(
			attribute.Int64("campaign.id", d.GetCampaignId()),
			attribute.String("event.type", d.GetEventType()),
			semconv.MessagingMessageID(d.GetEventId()),
		)
	}
	return span
}

// dispatch offers d to its room and returns how many sockets it was offered
// to.
func (h *Hub) dispatch(src int, d *campaignv1.Delivery) int {
	r := h.room(d.GetCampaignId())
	if r == nil {
		return 0 // nobody watches here any more; fanout learns it from Unsubscribe
	}
	pos := cursor.FromPB(d.GetPosition())
	f, err := NewFrame(Event, d.GetEventType(), d.GetFrame(), pos)
	if err != nil {
		h.log.Error("drop delivery", "campaign_id", d.GetCampaignId(), "event_id", d.GetEventId(), "err", err)
		return 0
	}
	f.OccurredAt = d.GetOccurredAtUnixNano()

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen && !r.last.Less(pos) {
		return 0 // a duplicate, pushed again after a rebalance
	}
	if r.seen && r.src != src {
		rs := h.newResync(r.id)
		rs.complete(nil) // the event is committed, so history holds what came before it
		r.offer(&Frame{Kind: Barrier, Resync: rs})
	}
	r.last, r.src, r.seen = pos, src, true
	r.offer(f)
	return len(r.subs)
}

// offer gives f to every subscriber; r.mu must be held.
func (r *room) offer(f *Frame) {
	for _, s := range r.subs {
		s.sub.Deliver(f)
	}
}

// Resync queues a Barrier in every socket of campaignIDs now, in order with
// deliveries: their sockets may have missed events (a fanout stream broke).
// Call ready with nil once reading history cannot miss what follows (the
// interest is acknowledged again), or with an error if it never will be;
// sockets wait at the barrier until then.
func (h *Hub) Resync(campaignIDs []int64) (ready func(error)) {
	var all []*Resync
	for _, id := range campaignIDs {
		r := h.room(id)
		if r == nil {
			continue
		}
		rs := h.newResync(id)
		r.mu.Lock()
		r.offer(&Frame{Kind: Barrier, Resync: rs})
		r.mu.Unlock()
		all = append(all, rs)
	}
	if len(all) > 0 {
		h.log.Info("resync", "campaigns", len(all))
	}
	return func(err error) {
		for _, rs := range all {
			rs.complete(err)
		}
	}
}
