package fanoutlink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
)

// ErrSubscribeTimeout reports interest that fanout did not acknowledge in
// time; the caller should let its client try again later.
var ErrSubscribeTimeout = errors.New("fanout did not acknowledge the subscription in time")

// Sink receives what the streams carry; *hub.Hub is one.
type Sink interface {
	// Deliver is called for every delivery, on the receiving goroutine of
	// stream src (the index of its address). It must not block.
	Deliver(src int, d *campaignv1.Delivery)
	// Resync is called when the sockets of campaignIDs may have missed
	// events: a stream (re)connected (before its first delivery), or one
	// broke while another is up. The sink marks the point and waits for
	// ready: nil once the interest is in force (history read from then on
	// misses nothing), an error if the stream broke first. It must not
	// block.
	Resync(campaignIDs []int64) (ready func(error))
}

// ErrStreamDown fails a resync whose stream broke before it acknowledged.
var ErrStreamDown = errors.New("fanout stream broke before acknowledging")

// Options tune a Link; zero values take the defaults.
type Options struct {
	SubscribeTimeout time.Duration // 5s: how long Acquire waits for acks
	SnapshotTimeout  time.Duration // 5s: per Snapshot attempt
	MinBackoff       time.Duration // 100ms: first reconnect delay
	MaxBackoff       time.Duration // 5s: reconnect delay cap
	DialOptions      []grpc.DialOption
}

func (o *Options) defaults() {
	if o.SubscribeTimeout <= 0 {
		o.SubscribeTimeout = 5 * time.Second
	}
	if o.SnapshotTimeout <= 0 {
		o.SnapshotTimeout = 5 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(5*time.Second, o.MinBackoff)
	}
}

// Link holds the streams to every fanout instance. It is safe for
// concurrent use.
type Link struct {
	log     *slog.Logger
	opts    Options
	streams []*stream
	rr      atomic.Uint64

	mu       sync.Mutex
	interest map[int64]*interest
	seq      uint64
}

type interest struct {
	refs    int
	waiting int           // streams yet to acknowledge the first Subscribe
	ready   chan struct{} // closed when waiting reaches zero
}

// pendingAck is what an acknowledgement completes: the first Subscribe of
// one campaign, or the interest re-sent when a stream connected.
type pendingAck struct {
	in    *interest
	ready func(error) // the resync waiting for the re-sent interest
	// opened is the stream whose first Subscribe this is: its ack says
	// the instance took the stream, which is then up.
	opened *stream
}

type stream struct {
	index  int
	addr   string
	cc     *grpc.ClientConn
	client campaignv1.FanoutClient
	up     atomic.Bool // the instance answered this session (acked); for Snapshot and readiness

	// Guarded by Link.mu; out is nil while the stream is down.
	out     *outbox
	pending map[uint64]pendingAck
}

// New returns a Link to the fanout instances at addrs (host:port).
func New(addrs []string, log *slog.Logger, opts Options) (*Link, error) {
	opts.defaults()
	l := &Link{log: log, opts: opts, interest: make(map[int64]*interest)}
	dial := append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// Find a dead fanout instance on an idle stream; fanout permits
		// pings every 10s.
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 20 * time.Second, Timeout: 10 * time.Second}),
	}, opts.DialOptions...)
	for _, addr := range addrs {
		cc, err := grpc.NewClient(addr, dial...)
		if err != nil {
			_ = l.Close()
			return nil, fmt.Errorf("fanout client %s: %w", addr, err)
		}
		l.streams = append(l.streams, &stream{index: len(l.streams), addr: addr, cc: cc, client: campaignv1.NewFanoutClient(cc)})
	}
	if len(l.streams) == 0 {
		return nil, errors.New("no fanout address")
	}
	return l, nil
}

// Close closes the connections. Call it after Run has returned.
func (l *Link) Close() error {
	var errs []error
	for _, s := range l.streams {
		errs = append(errs, s.cc.Close())
	}
	return errors.Join(errs...)
}

// Run keeps a Watch stream open to every instance, passing what they carry
// to sink, until ctx ends.
func (l *Link) Run(ctx context.Context, sink Sink) error {
	var wg sync.WaitGroup
	for _, s := range l.streams {
		wg.Go(func() { l.loop(ctx, s, sink) })
	}
	wg.Wait()
	return ctx.Err()
}

// Up returns how many streams are connected.
func (l *Link) Up() int {
	n := 0
	for _, s := range l.streams {
		if s.up.Load() {
			n++
		}
	}
	return n
}

// Check is a readiness check: ready while at least one stream is up.
func (l *Link) Check(context.Context) error {
	if l.Up() == 0 {
		return errors.New("no fanout stream is up")
	}
	return nil
}

// Acquire registers interest in campaignID and returns once it is in force
// on every stream that is up. Call release exactly once when done watching.
func (l *Link) Acquire(ctx context.Context, campaignID int64) (release func(), err error) {
	l.mu.Lock()
	in := l.interest[campaignID]
	if in == nil {
		in = &interest{ready: make(chan struct{})}
		l.interest[campaignID] = in
		l.seq++
		seq := l.seq
		req := &campaignv1.WatchRequest{Kind: &campaignv1.WatchRequest_Subscribe{
			Subscribe: &campaignv1.Subscribe{Seq: seq, CampaignIds: []int64{campaignID}},
		}}
		for _, s := range l.streams {
			if s.out == nil {
				continue
			}
			s.out.push(req)
			s.pending[seq] = pendingAck{in: in}
			in.waiting++
		}
		if in.waiting == 0 {
			close(in.ready)
		}
	}
	in.refs++
	l.mu.Unlock()

	var once sync.Once
	release = func() { once.Do(func() { l.release(campaignID, in) }) }
	if ctx.Err() != nil { // the client is already gone
		release()
		return nil, ctx.Err()
	}
	t := time.NewTimer(l.opts.SubscribeTimeout)
	defer t.Stop()
	select {
	case <-in.ready:
		return release, nil
	case <-t.C:
		release()
		return nil, ErrSubscribeTimeout
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

func (l *Link) release(campaignID int64, in *interest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	in.refs--
	if in.refs > 0 || l.interest[campaignID] != in {
		return
	}
	delete(l.interest, campaignID)
	req := &campaignv1.WatchRequest{Kind: &campaignv1.WatchRequest_Unsubscribe{
		Unsubscribe: &campaignv1.Unsubscribe{CampaignIds: []int64{campaignID}},
	}}
	for _, s := range l.streams {
		if s.out != nil {
			s.out.push(req)
		}
	}
}

// Snapshot reads campaignID's view from the first instance that answers,
// starting round robin among the streams that are up.
func (l *Link) Snapshot(ctx context.Context, campaignID int64) (*campaignv1.SnapshotResponse, error) {
	resp, err := read(l, ctx, func(ctx context.Context, c campaignv1.FanoutClient) (*campaignv1.SnapshotResponse, error) {
		return c.Snapshot(ctx, &campaignv1.SnapshotRequest{CampaignId: campaignID})
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot campaign %d: %w", campaignID, err)
	}
	return resp, nil
}

// History reads campaignID's events after `after` from recent history, from
// the first instance that answers, as Snapshot does.
func (l *Link) History(ctx context.Context, campaignID int64, after cursor.Position) (*campaignv1.HistoryResponse, error) {
	resp, err := read(l, ctx, func(ctx context.Context, c campaignv1.FanoutClient) (*campaignv1.HistoryResponse, error) {
		return c.History(ctx, &campaignv1.HistoryRequest{CampaignId: campaignID, After: after.PB()})
	})
	if err != nil {
		return nil, fmt.Errorf("history of campaign %d: %w", campaignID, err)
	}
	return resp, nil
}

// read calls call on the instances, those that are up first, starting round
// robin, until one answers. Every instance reads the same database.
func read[T any](l *Link, ctx context.Context, call func(context.Context, campaignv1.FanoutClient) (T, error)) (T, error) {
	var zero T
	n := len(l.streams)
	start := int(l.rr.Add(1) % uint64(n))
	var lastErr error
	for _, wantUp := range []bool{true, false} {
		for i := range n {
			s := l.streams[(start+i)%n]
			if s.up.Load() != wantUp {
				continue
			}
			actx, cancel := context.WithTimeout(ctx, l.opts.SnapshotTimeout)
			resp, err := call(actx, s.client)
			cancel()
			if err == nil {
				return resp, nil
			}
			if ctx.Err() != nil {
				return zero, ctx.Err()
			}
			lastErr = fmt.Errorf("%s: %w", s.addr, err)
		}
	}
	return zero, lastErr
}

// loop keeps s connected until ctx ends.
func (l *Link) loop(ctx context.Context, s *stream, sink Sink) {
	backoff := l.opts.MinBackoff
	for {
		began := time.Now()
		heard, err := l.session(ctx, s, sink)
		if ctx.Err() != nil {
			return
		}
		if heard || time.Since(began) > l.opts.MaxBackoff {
			backoff = l.opts.MinBackoff
		}
		// Full jitter over the upper half, so gateways that lost the same
		// instance do not come back in step.
		d := backoff/2 + rand.N(backoff/2+1)
		l.log.Warn("fanout stream down", "addr", s.addr, "err", err, "retry_in", d)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, l.opts.MaxBackoff)
	}
}

// session runs one Watch stream until it breaks. heard reports whether the
// instance answered anything.
func (l *Link) session(ctx context.Context, s *stream, sink Sink) (heard bool, err error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.client.Watch(sctx)
	if err != nil {
		return false, fmt.Errorf("open watch: %w", err)
	}

	// The stream is up once the instance has answered on it: opening a
	// stream succeeds before the server has taken it, and an instance
	// that refuses it (stopping, or not ready) answers only with the
	// error. So the session starts with a Subscribe, of the whole
	// interest or of nothing, and its acknowledgement marks the stream up
	// (acked); until then readiness does not count it.
	out := newOutbox()
	l.mu.Lock()
	s.out, s.pending = out, make(map[uint64]pendingAck)
	ids := l.watched()
	var ready func(error)
	if len(ids) > 0 {
		// Events may have been missed while the stream was away: the
		// sockets stop at a barrier now, before this stream's first
		// delivery, and catch up from history once the interest is back.
		ready = sink.Resync(ids)
	}
	l.seq++
	out.push(&campaignv1.WatchRequest{Kind: &campaignv1.WatchRequest_Subscribe{
		Subscribe: &campaignv1.Subscribe{Seq: l.seq, CampaignIds: ids},
	}})
	s.pending[l.seq] = pendingAck{ready: ready, opened: s}
	l.mu.Unlock()

	sent := make(chan struct{})
	go func() {
		defer close(sent)
		if err := out.send(sctx, w); err != nil {
			cancel() // Recv then returns, and the session ends
		}
	}()
	defer func() {
		cancel()
		<-sent
		l.down(s, sink)
	}()

	for {
		resp, err := w.Recv()
		if err != nil {
			return heard, fmt.Errorf("receive: %w", err)
		}
		heard = true
		switch k := resp.GetKind().(type) {
		case *campaignv1.WatchResponse_Subscribed:
			l.acked(s, k.Subscribed.GetSeq())
		case *campaignv1.WatchResponse_Delivery:
			sink.Deliver(s.index, k.Delivery)
		}
	}
}

// watched returns the campaigns with interest; l.mu must be held.
func (l *Link) watched() []int64 {
	ids := make([]int64, 0, len(l.interest))
	for id := range l.interest {
		ids = append(ids, id)
	}
	return ids
}

// acked completes the acknowledgement seq of s.
func (l *Link) acked(s *stream, seq uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := s.pending[seq]
	if !ok {
		return
	}
	delete(s.pending, seq)
	if p.in != nil {
		p.in.done()
	}
	if p.ready != nil {
		p.ready(nil)
	}
	if p.opened != nil {
		p.opened.up.Store(true)
		l.log.Info("fanout stream up", "addr", s.addr)
	}
}

// down marks s disconnected. Subscriptions waiting for it stop waiting: s
// gets the whole interest set when it connects again. A resync waiting for
// it fails. If another stream is up, the instance behind s may have
// committed events that s never brought, and another instance may be
// taking over its partitions: every watched campaign catches up from
// history now rather than when s comes back, which it may never do.
func (l *Link) down(s *stream, sink Sink) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s.up.Store(false)
	s.out = nil
	for _, p := range s.pending {
		if p.in != nil {
			p.in.done()
		}
		if p.ready != nil {
			p.ready(ErrStreamDown)
		}
	}
	s.pending = nil
	others := false
	for _, o := range l.streams {
		others = others || o.out != nil
	}
	if ids := l.watched(); others && len(ids) > 0 {
		sink.Resync(ids)(nil)
	}
}

func (in *interest) done() {
	in.waiting--
	if in.waiting == 0 {
		close(in.ready)
	}
}

// outbox is a session's unbounded queue of requests, drained by its sending
// goroutine. Requests are small and few (one per campaign joined or left).
type outbox struct {
	mu   sync.Mutex
	q    []*campaignv1.WatchRequest
	wake chan struct{}
}

func newOutbox() *outbox { return &outbox{wake: make(chan struct{}, 1)} }

func (o *outbox) push(r *campaignv1.WatchRequest) {
	o.mu.Lock()
	o.q = append(o.q, r)
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func (o *outbox) send(ctx context.Context, w grpc.BidiStreamingClient[campaignv1.WatchRequest, campaignv1.WatchResponse]) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-o.wake:
		}
		o.mu.Lock()
		batch := o.q
		o.q = nil
		o.mu.Unlock()
		for _, r := range batch {
			if err := w.Send(r); err != nil {
				return err
			}
		}
	}
}
