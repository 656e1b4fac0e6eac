package ws

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/pkg/limit"
	"github.com/campaign-live/campaign-live/services/gateway/internal/hub"
)

// conn is one browser socket watching one campaign.
//
// It has a reader goroutine for its whole life, but a writer only while
// frames wait (sendQueue): the joining goroutine is the first, and after it
// each push to an empty queue starts one, which returns when the queue is
// drained. Keepalive pings go from a timer. The socket ends (end) on the
// goroutine that finds it shut with no writer.
type conn struct {
	ws       *websocket.Conn
	campaign int64
	user     *auth.User // nil: anonymous
	cfg      *Config
	obs      Observer
	m        *metrics
	h        *Handler
	ip       string // the client's, for the per-IP limits

	send *sendQueue // deliveries and replies, drained by the writer
	cork *corkConn  // the connection under ws; nil in tests that dial without one

	// last is the position of the last event or snapshot written, and
	// tick counts live frames for the latency sample. Only the writer that
	// has the turn uses them; the queue's lock passes them on.
	last cursor.Position
	tick uint8

	// What the join set up, undone when the socket ends. The join sets
	// them as the first writer; end reads them after the last.
	tracked bool
	sub     *hub.Subscription
	release func()

	// closing is set at the first close reason, which stops the writer.
	// The socket's waits (the join's fanout calls, a catchup) run under a
	// context of their own, which the first close reason cancels: a context
	// for the socket's whole life cost an idle socket 0.6 KiB, its done
	// channel and the map its waits' child contexts left behind.
	closing atomic.Bool

	mu       sync.Mutex
	code     int // close code to send; 0 when the peer is gone or closed first
	text     string
	sent     bool               // the library already sent the close frame (read limit)
	stopWait context.CancelFunc // cancels the wait in progress, if any
	pinger   *time.Timer        // keepalive; nil until the opening is written

	readerDone chan struct{}
}

func newConn(ws *websocket.Conn, campaignID int64, user *auth.User, h *Handler, ip string) *conn {
	cork, _ := ws.NetConn().(*corkConn)
	return &conn{
		ws: ws, campaign: campaignID, user: user, cfg: &h.cfg, obs: h.obs, m: h.m, h: h, ip: ip,
		send:       newSendQueue(h.cfg.SendQueue),
		cork:       cork,
		readerDone: make(chan struct{}),
	}
}

// wait returns the context of a wait of the socket's, which ends at the
// first close reason (at once if there was one); done must be called when
// the wait is over. One wait at a time: only the writer waits.
func (c *conn) wait() (ctx context.Context, done func()) {
	ctx, cancel := context.WithCancel(context.Background())
	c.mu.Lock()
	if c.closing.Load() {
		cancel()
	} else {
		c.stopWait = cancel
	}
	c.mu.Unlock()
	return ctx, func() {
		c.mu.Lock()
		c.stopWait = nil
		c.mu.Unlock()
		cancel()
	}
}

// Deliver offers f from the hub without blocking; a full queue means the
// client does not keep up, and it is closed rather than waited for.
func (c *conn) Deliver(f *hub.Frame) { c.enqueue(f) }

func (c *conn) enqueue(f *hub.Frame) {
	if c.closing.Load() {
		return
	}
	ok, start := c.send.push(f)
	if !ok {
		if c.shut(websocket.CloseTryAgainLater, "slow consumer") {
			c.m.slowClient()
		}
		return
	}
	if start {
		go c.writeLoop()
	}
}

// shut records the first reason to close the socket and stops it; it
// reports whether this was the first.
func (c *conn) shut(code int, text string) bool { return c.shutWith(code, text, false) }

func (c *conn) shutWith(code int, text string, sent bool) bool {
	c.mu.Lock()
	first := !c.closing.Load()
	stopWait := c.stopWait
	if first {
		c.code, c.text, c.sent = code, text, sent
		c.closing.Store(true)
	}
	c.mu.Unlock()
	if first {
		if stopWait != nil {
			stopWait()
		}
		// Counted before the close frame can go out: once a client has
		// seen its close, the metrics show it.
		c.obs.Closing(c.campaign, code)
		c.m.closing(code)
		if c.send.close() {
			// No writer will notice; end must not run here, where the
			// caller may hold the hub's or the handler's lock.
			go c.end()
		}
	}
	return first
}

// readLoop reads until the connection fails or closes. Inbound messages get
// their reply through the send queue; nothing is ever broadcast.
func (c *conn) readLoop() {
	defer close(c.readerDone)
	c.ws.SetReadLimit(c.cfg.ReadLimit)
	alive := func() error {
		if c.closing.Load() {
			return nil // keep the close grace set by finish
		}
		return c.ws.SetReadDeadline(time.Now().Add(c.cfg.PongWait))
	}
	_ = alive()
	c.ws.SetPongHandler(func(string) error { return alive() })
	var budget inbound
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				// The library has sent close 1009 already.
				c.shutWith(websocket.CloseMessageTooBig, "message too big", true)
			} else {
				c.shut(0, "")
			}
			return
		}
		if c.closing.Load() || budget.spent {
			continue // read on until the client answers our close
		}
		_ = alive()
		if typ != websocket.TextMessage {
			c.shut(websocket.ClosePolicyViolation, "binary messages are not accepted")
			continue
		}
		var reply *hub.Frame
		if budget.allow(c.cfg) {
			reply = answer(data)
		} else {
			refuseFrame(context.Background())
			reply = replyRateLimited
		}
		if reply != replyPong && !budget.refused(c.cfg) {
			// Through the queue, so the client reads the replies it was
			// owed, then the close.
			budget.spent = true
			reply = closeAbuse
		}
		c.enqueue(reply)
	}
}

// closeAbuse is queued after the last reply to a client that sent too many
// refused messages; the writer closes the socket 1008 there.
var closeAbuse = &hub.Frame{Kind: hub.Reply}

// inbound is a socket's budget for what its client sends: messages over
// Config.FrameRate are refused, and a socket whose refused messages
// (rate-limited, malformed, unsupported) exceed Config.RefusedFrames is
// closed 1008. Only the reader uses it. Its token buckets are made at the
// first message, so idle sockets, nearly all of them, carry none.
type inbound struct {
	frames, refusals *rate.Limiter
	spent            bool // refused too many: closing
}

// allow takes a message from the frame budget.
func (b *inbound) allow(cfg *Config) bool {
	if cfg.FrameRate.Tokens == 0 {
		return true
	}
	if b.frames == nil {
		b.frames = rate.NewLimiter(perSecond(cfg.FrameRate), cfg.FrameBurst)
	}
	return b.frames.Allow()
}

// refused counts a refused message; false means the client has had too many.
func (b *inbound) refused(cfg *Config) bool {
	r := cfg.RefusedFrames
	if r.Tokens == 0 {
		return true
	}
	if b.refusals == nil {
		b.refusals = rate.NewLimiter(perSecond(r), int(r.Tokens))
	}
	return b.refusals.Allow()
}

func perSecond(r limit.Rate) rate.Limit {
	return rate.Limit(float64(r.Tokens) / r.Interval.Seconds())
}

// writeLoop is a writer's turn: it writes what the queue brings, after
// c.last, until the queue has stayed empty for Config.WriterLinger, and returns;
// the next push starts another writer. The writer that finds the socket
// shut ends it.
func (c *conn) writeLoop() {
	var (
		batch     []*hub.Frame
		wake      chan struct{} // made once this turn has written a batch
		timer     *time.Timer
		finish    bool
		lingering bool
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		batch, finish, lingering = c.send.next(batch, wake)
		if lingering {
			if timer == nil {
				timer = time.NewTimer(c.cfg.WriterLinger)
			} else {
				timer.Reset(c.cfg.WriterLinger)
			}
			select {
			case <-wake:
				continue
			case <-timer.C:
			}
			batch, finish = c.send.endLinger(batch)
		}
		if len(batch) == 0 {
			if finish {
				c.end()
			}
			return
		}
		if c.closing.Load() || !c.writeQueued(batch, &c.last) {
			c.shut(0, "") // a no-op: what stopped the writer shut the socket
			if c.send.quit() {
				c.end()
			}
			return
		}
		if wake == nil {
			wake = make(chan struct{}, 1)
		}
	}
}

// keepalive starts the pings, every 9/10 of the pong wait. They go from a
// timer, beside whichever writer runs: an idle socket has none, and
// WriteControl may be called concurrently with the writer (gorilla's
// Concurrency notes), as the reader's pongs and finish's close frame are.
func (c *conn) keepalive() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closing.Load() {
		c.pinger = time.AfterFunc(c.pingPeriod(), c.ping)
	}
}

func (c *conn) pingPeriod() time.Duration { return c.cfg.PongWait * 9 / 10 }

// ping sends one ping and arms the next, unless the socket is closing:
// finish stops the timer after the first close reason, under mu, so a ping
// already on its way cannot arm it again and keep the socket reachable.
func (c *conn) ping() {
	if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.cfg.WriteTimeout)); err != nil {
		c.shut(0, "")
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closing.Load() {
		c.pinger.Reset(c.pingPeriod())
	}
}

// writeQueued writes a batch (taken from the queue, or the opening frames)
// with as few write(2)s
// as its size allows (see corkConn). A socket that keeps up takes one
// frame at a time and writes it alone, as before.
func (c *conn) writeQueued(batch []*hub.Frame, last *cursor.Position) bool {
	// One clock reading and one write deadline for the batch, which goes
	// out at once.
	now := time.Now()
	_ = c.ws.SetWriteDeadline(now.Add(c.cfg.WriteTimeout))
	if len(batch) == 1 || c.cork == nil {
		for _, f := range batch {
			if !c.write(f, last, now) {
				return false
			}
		}
		return true
	}
	c.cork.cork()
	for _, f := range batch {
		if c.closing.Load() || !c.write(f, last, now) {
			return c.uncork(false)
		}
		if c.cork.corkedBytes() >= maxCorked {
			if !c.uncork(true) {
				return false
			}
			c.cork.cork()
		}
	}
	return c.uncork(true)
}

// uncork sends the batch, whatever happened to it: the close frame finish
// writes must not land in an unsent batch. ok is how the batch went.
func (c *conn) uncork(ok bool) bool {
	if err := c.cork.uncork(); err != nil && ok {
		c.shut(0, "") // as for a failed write
		return false
	}
	return ok
}

// write writes one frame, at now, under the write deadline writeQueued
// set; last is the position of the last event or snapshot written. It
// returns false when the socket is done.
func (c *conn) write(f *hub.Frame, last *cursor.Position, now time.Time) bool {
	switch f.Kind {
	case hub.Event:
		if !last.Less(f.Pos) {
			return true // in the snapshot already, or a duplicate
		}
	case hub.Barrier:
		// Send what is batched before waiting on fanout for history.
		if c.cork != nil {
			if err := c.cork.uncork(); err != nil {
				c.shut(0, "")
				return false
			}
		}
		return c.catchup(f.Resync, last)
	}
	if f == closeAbuse {
		c.shut(websocket.ClosePolicyViolation, "too many refused messages")
		return false
	}
	// Counted before the write: once a client has read a frame, the
	// metrics show it (a write that fails ends the socket, one frame over).
	sample := false
	if f.OccurredAt > 0 {
		sample = c.tick == 0
		c.tick = (c.tick + 1) % latencySample
	}
	c.m.wrote(f, now, sample)
	if err := c.ws.WritePreparedMessage(f.Msg); err != nil {
		c.shut(0, "") // a failed write leaves nothing to send a close frame on
		return false
	}
	if f.Kind == hub.Event || f.Kind == hub.Snapshot {
		*last = f.Pos
	}
	return true
}

// catchup writes what the socket may have missed at a barrier: the events
// after last from history, or a fresh campaign_data when history does not
// reach back.
func (c *conn) catchup(rs *hub.Resync, last *cursor.Position) bool {
	ctx, done := c.wait()
	frames, vis, err := rs.Catchup(ctx, *last)
	done()
	switch {
	case c.closing.Load():
		return false
	case errors.Is(err, hub.ErrNotFound):
		c.shut(CloseNoSuchCampaign, reasonNoSuchCampaign)
		return false
	case err != nil:
		c.shut(websocket.CloseTryAgainLater, "campaign unavailable")
		return false
	}
	if code, text := c.allowed(vis); code != 0 {
		c.shut(code, text)
		return false
	}
	// A batch of its own: the wait on fanout outlived the deadline and
	// clock reading of the batch that brought the barrier.
	return c.writeQueued(frames, last)
}

// allowed applies the private-campaign rule: only its owner may watch a
// private campaign.
func (c *conn) allowed(vis hub.Visibility) (code int, text string) {
	if vis.Private && (c.user == nil || c.user.ID != vis.OwnerID) {
		return CloseForbidden, "forbidden campaign"
	}
	return 0, ""
}

// end finishes the socket and undoes its join. It runs once, on the
// goroutine that finds the socket shut with no writer (sendQueue).
func (c *conn) end() {
	if c.release != nil {
		c.release()
	}
	if c.sub != nil {
		c.h.hub.Detach(c.sub)
	}
	c.finish()
	if c.tracked {
		c.h.untrack(c)
	}
	c.h.leave(c.ip)
}

// finish closes the socket once it is shut and no writer runs: it sends the
// close frame of the first reason, lingers until the client answers it (or
// the grace ends) so that the client reads it rather than a reset, and
// closes the connection.
func (c *conn) finish() {
	c.mu.Lock()
	code, text, libSent := c.code, c.text, c.sent
	if c.pinger != nil {
		c.pinger.Stop()
	}
	c.mu.Unlock()
	sent := libSent
	if code != 0 && !sent {
		err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text),
			time.Now().Add(c.cfg.WriteTimeout))
		sent = err == nil
	}
	if code != 0 && sent {
		nc := c.ws.NetConn()
		_ = nc.SetReadDeadline(time.Now().Add(c.cfg.CloseGrace))
		<-c.readerDone
		if libSent {
			// The reader stopped at an oversized message whose rest is still
			// on the wire: read it away, or closing would reset the
			// connection before the client read the close frame.
			_, _ = io.Copy(io.Discard, nc)
		}
	}
	_ = c.ws.Close()
	<-c.readerDone
}
