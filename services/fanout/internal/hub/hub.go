package hub

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
)

// Errors that end a gateway's stream.
var (
	// ErrStalled: the gateway's send queue stayed full past the stall
	// timeout. The gateway should reconnect and resync its watchers.
	ErrStalled = errors.New("gateway stalled: send queue full past the stall timeout")
	// ErrClosed: the hub is shutting down.
	ErrClosed = errors.New("fanout shutting down")
)

// Hub routes deliveries to the gateway streams interested in their campaign.
// The zero value is not usable: call New.
type Hub struct {
	queueSize int
	stall     time.Duration
	log       *slog.Logger

	mu       sync.RWMutex
	watchers map[int64]map[*Stream]struct{} // campaign id -> interested streams
	streams  map[*Stream]struct{}
	closed   bool
}

// New returns a hub whose streams queue at most queueSize messages, and
// whose publisher waits at most stall for a stream with a full queue.
func New(queueSize int, stall time.Duration, log *slog.Logger) *Hub {
	return &Hub{
		queueSize: queueSize, stall: stall, log: log,
		watchers: map[int64]map[*Stream]struct{}{},
		streams:  map[*Stream]struct{}{},
	}
}

// Stream is one gateway's Watch stream: its interest set and its bounded
// send queue. One goroutine drains Queue and sends; Subscribe and
// Unsubscribe are called by the goroutine that receives.
type Stream struct {
	hub      *Hub
	peer     string // the gateway's address, for logs
	queue    chan *campaignv1.WatchResponse
	interest map[int64]struct{} // guarded by hub.mu
	done     chan struct{}
	once     sync.Once
	err      error // written once before done is closed
	// fullSince is when the publisher first found the queue full (unix
	// nanoseconds), 0 once it has drained to half. The stall timeout runs
	// from there, so a gateway that drains just enough to take each message
	// in time is still cut when it never catches up.
	fullSince atomic.Int64
	// pending counts messages queued and not yet handed to gRPC: raised
	// before a message enters the queue, lowered by the sender (Sent) once
	// Send returned, so it never reads 0 while one is on its way.
	pending atomic.Int64
}

// Join registers a new stream with no interest for the gateway at peer. The
// caller must call Leave. After Close, the stream is born ended with
// ErrClosed.
func (h *Hub) Join(peer string) *Stream {
	s := &Stream{
		hub:      h,
		peer:     peer,
		queue:    make(chan *campaignv1.WatchResponse, h.queueSize),
		interest: map[int64]struct{}{},
		done:     make(chan struct{}),
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		s.end(ErrClosed)
		return s
	}
	h.streams[s] = struct{}{}
	return s
}

// Subscribe adds ids to the stream's interest, then queues Subscribed{seq}.
// Every event published after Subscribe returns reaches the stream; the ack
// is queued after the interest is in force, so a gateway that reads a
// snapshot after the ack misses nothing. Deliveries of these campaigns may
// precede the ack in the queue: their events were committed before the ack
// was sent, so any snapshot read after it already holds them.
func (s *Stream) Subscribe(ctx context.Context, seq uint64, ids []int64) error {
	h := s.hub
	h.mu.Lock()
	for _, id := range ids {
		if _, ok := s.interest[id]; ok {
			continue
		}
		s.interest[id] = struct{}{}
		set := h.watchers[id]
		if set == nil {
			set = map[*Stream]struct{}{}
			h.watchers[id] = set
		}
		set[s] = struct{}{}
	}
	h.mu.Unlock()
	ack := &campaignv1.WatchResponse{Kind: &campaignv1.WatchResponse_Subscribed{Subscribed: &campaignv1.Subscribed{Seq: seq}}}
	s.pending.Add(1)
	select {
	case s.queue <- ack:
		return nil
	case <-s.done:
		s.pending.Add(-1)
		return s.err
	case <-ctx.Done():
		s.pending.Add(-1)
		return ctx.Err()
	}
}

// Sent tells the stream that one message taken from Queue was handed to
// gRPC (or dropped because the stream broke). A queue found full that is
// back to half restarts the stall clock here too, not only when the
// publisher next queues: a publisher waiting on a full queue refills it as
// soon as one message leaves, so it may never see it at half.
func (s *Stream) Sent() {
	s.pending.Add(-1)
	if s.fullSince.Load() != 0 {
		s.queued()
	}
}

// Unsubscribe removes ids from the stream's interest. Deliveries already
// queued still arrive.
func (s *Stream) Unsubscribe(ids []int64) {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range ids {
		s.forget(id)
	}
}

// forget drops one campaign from s's interest; h.mu must be held.
func (s *Stream) forget(id int64) {
	if _, ok := s.interest[id]; !ok {
		return
	}
	delete(s.interest, id)
	set := s.hub.watchers[id]
	delete(set, s)
	if len(set) == 0 {
		delete(s.hub.watchers, id)
	}
}

// Leave removes the stream from the hub and ends it if it is not ended yet.
func (s *Stream) Leave() {
	h := s.hub
	h.mu.Lock()
	for id := range s.interest {
		s.forget(id)
	}
	delete(h.streams, s)
	h.mu.Unlock()
	s.end(nil)
}

// Queue is the stream's messages in order.
func (s *Stream) Queue() <-chan *campaignv1.WatchResponse { return s.queue }

// Done is closed when the stream has ended.
func (s *Stream) Done() <-chan struct{} { return s.done }

// Err is why the stream ended: ErrStalled, ErrClosed, or nil after Leave.
// It is meaningful once Done is closed.
func (s *Stream) Err() error {
	<-s.done
	return s.err
}

func (s *Stream) end(err error) {
	s.once.Do(func() {
		s.err = err
		close(s.done)
	})
}

// Interested reports how many streams watch campaignID, for tests and
// metrics.
func (h *Hub) Interested(campaignID int64) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.watchers[campaignID])
}

// Publish queues d on every stream interested in its campaign, in the order
// Publish is called. It never drops: when a stream's queue is full it waits,
// which holds back the consumer (back-pressure to Kafka). A stream whose
// queue has not drained to half within the stall timeout of first being
// found full is ended with ErrStalled, so its gateway reconnects and
// resyncs, and Publish goes on with the others. It returns only ctx's error.
func (h *Hub) Publish(ctx context.Context, d *campaignv1.Delivery) error {
	h.mu.RLock()
	set := h.watchers[d.GetCampaignId()]
	if len(set) == 0 {
		h.mu.RUnlock()
		return nil
	}
	targets := make([]*Stream, 0, len(set))
	for s := range set {
		targets = append(targets, s)
	}
	h.mu.RUnlock()

	msg := &campaignv1.WatchResponse{Kind: &campaignv1.WatchResponse_Delivery{Delivery: d}}
	for _, s := range targets {
		s.pending.Add(1)
		select {
		case s.queue <- msg:
			s.queued()
			continue
		case <-s.done:
			s.pending.Add(-1)
			continue
		default:
		}
		if err := h.wait(ctx, s, msg); err != nil {
			return err
		}
	}
	return nil
}

// queued restarts the stall clock once the queue is back to half or less:
// the gateway has caught up.
func (s *Stream) queued() {
	if len(s.queue) <= cap(s.queue)/2 {
		s.fullSince.Store(0)
	}
}

// wait queues msg on s's full queue, waiting for what is left of the stall
// timeout, or ends s.
func (h *Hub) wait(ctx context.Context, s *Stream, msg *campaignv1.WatchResponse) error {
	now := time.Now()
	since := s.fullSince.Load()
	if since == 0 {
		since = now.UnixNano()
		s.fullSince.Store(since)
	}
	timer := time.NewTimer(h.stall - now.Sub(time.Unix(0, since)))
	defer timer.Stop()
	select {
	case s.queue <- msg:
		s.queued()
	case <-s.done:
		s.pending.Add(-1)
	case <-timer.C:
		s.pending.Add(-1)
		h.log.Warn("gateway stream stalled, ending it", "peer", s.peer, "queue", cap(s.queue), "stall_timeout", h.stall.String())
		s.end(ErrStalled)
	case <-ctx.Done():
		s.pending.Add(-1)
		return ctx.Err()
	}
	return nil
}

// Flush waits until every open stream has handed all it queued to gRPC, or
// ctx ends. Called once nothing is published any more (the consumer
// stopped), so that ending the streams loses nothing already queued.
func (h *Hub) Flush(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		busy := 0
		h.mu.RLock()
		for s := range h.streams {
			select {
			case <-s.done:
			default:
				if s.pending.Load() > 0 {
					busy++
				}
			}
		}
		h.mu.RUnlock()
		if busy == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			h.log.Warn("gateway streams not flushed", "streams", busy, "err", ctx.Err())
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Close ends every stream with ErrClosed, and every later Join, so that
// their handlers return and the gRPC server can stop gracefully.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	streams := make([]*Stream, 0, len(h.streams))
	for s := range h.streams {
		streams = append(streams, s)
	}
	h.mu.Unlock()
	for _, s := range streams {
		s.end(ErrClosed)
	}
}
