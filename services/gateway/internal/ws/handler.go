package ws

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sethvargo/go-limiter"
	"github.com/sethvargo/go-limiter/memorystore"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/pkg/limit"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/pkg/problem"
	"github.com/campaign-live/campaign-live/services/gateway/internal/hub"
)

// Config is the socket policy.
type Config struct {
	AllowedOrigins []string      // exact origins, such as http://localhost:8080
	WriteTimeout   time.Duration // deadline of every write
	PongWait       time.Duration // silence after which a client is gone; pings go every 9/10 of it
	ReadLimit      int64         // largest inbound message; larger closes 1009
	SendQueue      int           // frames queued per socket; a full queue closes 1013
	CloseGrace     time.Duration // how long a closing socket waits for the client's close; 2s when zero
	// WriterLinger is how long a socket's writer waits on an empty queue
	// for the next frame before its goroutine ends; 2s when zero. Past it
	// the socket is idle and keeps no goroutine but its reader (W3).
	// Within it a socket that gets a frame now and then keeps its writer:
	// starting one per frame, and growing its stack, was a seventh of the
	// gateway's CPU in W2, where a campaign gets an event every 0.5 s.
	WriterLinger time.Duration

	// FrameRate is the messages a client may send per socket (a token
	// bucket holding FrameBurst); a message over it is refused with a
	// rate_limited error. Zero: no limit.
	FrameRate  limit.Rate
	FrameBurst int
	// RefusedFrames is how many refused messages (over the rate, malformed,
	// of an unsupported type) a socket may send per interval (a token
	// bucket); one more closes it 1008. Zero: no limit.
	RefusedFrames limit.Rate
	// ConnectsPerIP is the handshakes a client IP may make per interval;
	// SocketsPerIP how many sockets it may hold open. Over either, the
	// handshake is refused with 429. Zero: no limit.
	ConnectsPerIP limit.Rate
	SocketsPerIP  int
}

// Fanout is what sockets need from the fanout instances; *fanoutlink.Link
// is one.
type Fanout interface {
	// Acquire registers interest in a campaign and returns once it is in
	// force; release undoes it.
	Acquire(ctx context.Context, campaignID int64) (release func(), err error)
	Snapshot(ctx context.Context, campaignID int64) (*campaignv1.SnapshotResponse, error)
	// History returns the campaign's events after a position from recent
	// history, and whether they are all of them.
	History(ctx context.Context, campaignID int64, after cursor.Position) (*campaignv1.HistoryResponse, error)
}

// Observer is told about sockets: the seam for metrics.
type Observer interface {
	Opened(campaignID int64)
	// Closing reports the first reason a socket closes: the close code it
	// is sent, or 0 when the client went away or closed first.
	Closing(campaignID int64, code int)
	Closed(campaignID int64)
}

type nopObserver struct{}

func (nopObserver) Opened(int64)       {}
func (nopObserver) Closing(int64, int) {}
func (nopObserver) Closed(int64)       {}

// Handler serves /ws/campaign/{id}/. It is safe for concurrent use.
type Handler struct {
	cfg      Config
	hub      *hub.Hub
	fanout   Fanout
	verifier *auth.Verifier
	log      *slog.Logger
	obs      Observer
	origins  map[string]bool
	upgrader websocket.Upgrader
	m        *metrics
	connects limiter.Store // handshakes per IP; nil: no limit

	mu       sync.Mutex
	conns    map[*conn]struct{}
	perIP    map[string]int // open sockets by client IP, when SocketsPerIP is set
	draining bool
	wg       sync.WaitGroup
}

// NewHandler returns the WebSocket handler, which reports its metrics to
// the global meter provider until Close. obs may be nil.
func NewHandler(cfg Config, h *hub.Hub, f Fanout, v *auth.Verifier, log *slog.Logger, obs Observer) (*Handler, error) {
	if cfg.WriterLinger <= 0 {
		cfg.WriterLinger = 2 * time.Second
	}
	if cfg.CloseGrace <= 0 {
		cfg.CloseGrace = 2 * time.Second
	}
	if obs == nil {
		obs = nopObserver{}
	}
	origins := make(map[string]bool, len(cfg.AllowedOrigins))
	for _, o := range cfg.AllowedOrigins {
		origins[strings.ToLower(o)] = true
	}
	hd := &Handler{
		cfg: cfg, hub: h, fanout: f, verifier: v, log: log, obs: obs, origins: origins,
		upgrader: websocket.Upgrader{
			// Inbound messages are tiny, and data frames are written as
			// prepared messages straight to the connection, so small
			// buffers do; the write buffer is only borrowed from the pool.
			// The read buffer is every idle socket's to keep: 256 bytes
			// hold a ping and any control frame (125 bytes of payload at
			// most), and a longer message is read in several fills.
			ReadBufferSize:  256,
			WriteBufferSize: 1024,
			WriteBufferPool: &sync.Pool{},
			// ServeHTTP checked the origin against the allowlist already.
			CheckOrigin: func(*http.Request) bool { return true },
		},
		conns: make(map[*conn]struct{}),
		perIP: make(map[string]int),
	}
	if r := cfg.ConnectsPerIP; r.Tokens > 0 {
		store, err := memorystore.New(&memorystore.Config{Tokens: r.Tokens, Interval: r.Interval, SweepInterval: max(time.Minute, 10*r.Interval)})
		if err != nil {
			return nil, fmt.Errorf("connects per IP: %w", err)
		}
		hd.connects = store
	}
	m, err := newMetrics(hd.gauges)
	if err != nil {
		hd.Close()
		return nil, err
	}
	hd.m = m
	return hd, nil
}

// Close stops the handler's metrics and limiter; call it after Drain.
func (h *Handler) Close() {
	if h.m != nil {
		h.m.close()
	}
	if h.connects != nil {
		_ = h.connects.Close(context.Background())
	}
}

// gauges returns the open sockets and the frames queued in all of them,
// for the metrics.
func (h *Handler) gauges() (open, queued int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.conns {
		queued += int64(c.send.len())
	}
	return int64(len(h.conns)), queued
}

var (
	errNotFound = problem.New(problem.NotFound, "not found")
	errOrigin   = problem.New(problem.Forbidden, "origin not allowed")
	errConnects = problem.New(problem.TooMany, "too many connections").
			With("too many WebSocket handshakes from your address; retry after the Retry-After seconds")
	errSockets = problem.New(problem.TooMany, "too many open sockets").
			With("your address holds as many open WebSockets as it may; close one, or retry after the Retry-After seconds")
)

// socketsRetryAfter is the Retry-After of a refusal for too many open
// sockets: when one closes cannot be known, so a few seconds.
const socketsRetryAfter = 5

// ServeHTTP checks the handshake and runs the socket until it closes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, ok := campaignID(r.URL.Path)
	if !ok {
		problem.Write(w, errNotFound)
		return
	}
	if o := r.Header.Get("Origin"); o != "" && !h.origins[strings.ToLower(o)] {
		problem.Write(w, errOrigin)
		return
	}
	ip := limit.ClientIP(r)
	if !h.admit(w, r, ip) {
		return
	}
	served := false
	defer func() {
		if !served {
			h.leave(ip)
		}
	}()
	var user *auth.User
	if tok := auth.TokenFromRequest(r); tok != "" {
		u, err := h.verifier.Verify(tok)
		if err != nil {
			// A browser cannot read a refused handshake's status, only
			// that it failed; it can read a close code, and must not retry
			// a 4401. The token itself is never logged.
			if ws, uerr := h.upgrader.Upgrade(w, r, nil); uerr == nil {
				h.m.closing(CloseBadToken)
				_ = ws.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(CloseBadToken, "invalid or expired token"), time.Now().Add(time.Second))
				_ = ws.Close()
			}
			return
		}
		user = &u
	}
	if h.Draining() {
		writeUnavailable(w)
		return
	}
	// The library gets a corkable connection, so the writer can send the
	// frames it finds queued with one write (cork.go).
	ws, err := h.upgrader.Upgrade(&corkingWriter{ResponseWriter: w}, r, nil)
	if err != nil {
		return // the upgrader has answered the request
	}
	// The socket runs on a goroutine of its own so ServeHTTP returns and
	// net/http frees the connection's read buffer and hijack writer (8 KiB
	// a socket, for its whole life). Drain still waits for it: serve
	// registers with h.wg, and refuses to start once draining has begun.
	served = true
	go h.serve(ws, id, user, r.URL.Query().Get("since"), ip)
}

// admit applies the per-IP limits to a handshake from ip, answering 429
// (with Retry-After) when one refuses it. Once admitted, the socket counts
// against its IP until leave.
func (h *Handler) admit(w http.ResponseWriter, r *http.Request, ip string) bool {
	if h.connects != nil {
		_, _, reset, ok, err := h.connects.Take(r.Context(), ip)
		if err == nil && !ok { // a limiter failure must not refuse sockets
			refuseConnect(r.Context())
			wait := time.Until(time.Unix(0, int64(reset)))
			problem.RetryAfter(w, max(1, int(wait.Seconds()+0.999)))
			problem.Write(w, errConnects)
			return false
		}
	}
	if h.cfg.SocketsPerIP <= 0 {
		return true
	}
	h.mu.Lock()
	full := h.perIP[ip] >= h.cfg.SocketsPerIP
	if !full {
		h.perIP[ip]++
	}
	h.mu.Unlock()
	if full {
		refuseSockets(r.Context())
		problem.RetryAfter(w, socketsRetryAfter)
		problem.Write(w, errSockets)
		return false
	}
	return true
}

// leave undoes admit once the socket is done.
func (h *Handler) leave(ip string) {
	if h.cfg.SocketsPerIP <= 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.perIP[ip]--; h.perIP[ip] <= 0 {
		delete(h.perIP, ip)
	}
}

// campaignID reads the id from /ws/campaign/{digits} or /ws/campaign/{digits}/.
func campaignID(path string) (int64, bool) {
	rest, ok := strings.CutPrefix(path, "/ws/campaign/")
	if !ok {
		return 0, false
	}
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" {
		return 0, false
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] < '0' || rest[i] > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || id <= 0 {
		return 0, false
	}
	return id, true
}

func writeUnavailable(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusServiceUnavailable)
	_ = json.NewEncoder(w).Encode(problem.Body{
		Type: "about:blank", Title: "draining", Status: http.StatusServiceUnavailable,
	})
}

// serve runs one upgraded socket's join (DESIGN.md §3.3) on the calling
// goroutine, which is the socket's first writer: it writes the opening
// frames and what queued meanwhile, then returns, leaving the socket to its
// reader, its ping timer and the writers that pushes start (conn). The
// socket counts against ip until it ends.
func (h *Handler) serve(ws *websocket.Conn, campaignID int64, user *auth.User, since, ip string) {
	c := newConn(ws, campaignID, user, h, ip)
	go c.readLoop()
	if h.join(c, since) {
		c.keepalive()
	}
	c.writeLoop() // ends the socket when the join shut it
}

// join tracks the socket, attaches it to its room, acquires the interest
// and writes the opening frames; it reports false when it shut the socket.
// What it sets up, c's end undoes.
func (h *Handler) join(c *conn, since string) bool {
	if !h.track(c) {
		c.shut(websocket.CloseServiceRestart, "service restart") // draining began during the handshake
		return false
	}
	c.tracked = true

	// Attach first: from here deliveries queue up in c.send, so none is
	// missed between the acknowledgement and the snapshot.
	c.sub = h.hub.Attach(c.campaign, c)

	ctx, done := c.wait()
	opening, from, code, text := h.acquire(ctx, c, since)
	done()
	if code != 0 {
		c.shut(code, text)
		return false
	}
	// The opening frames are dead once written: an idle socket keeps no
	// copy of its snapshot.
	c.last = from
	return c.writeQueued(opening, &c.last)
}

// acquire acquires the campaign's interest for c, then reads its opening
// (opening), or returns the close code that ends the socket instead.
func (h *Handler) acquire(ctx context.Context, c *conn, since string) (frames []*hub.Frame, from cursor.Position, code int, text string) {
	release, err := h.fanout.Acquire(ctx, c.campaign)
	if err != nil {
		if ctx.Err() == nil {
			h.log.Warn("subscribe failed", "campaign_id", c.campaign, "err", err)
		}
		return nil, cursor.Position{}, websocket.CloseTryAgainLater, "try again later"
	}
	c.release = release
	return h.opening(ctx, c, since)
}

// opening returns the socket's first frames and the position they start
// after, or the close code that ends the socket instead: the events after
// the client's since cursor and {"type":"resumed"} when recent history
// holds all of them (DESIGN.md §3.4), else a fresh campaign_data. Either is
// read after the interest is in force, so the live deliveries queued since
// then are sent only past the position the opening leaves the socket at.
func (h *Handler) opening(ctx context.Context, c *conn, since string) (frames []*hub.Frame, from cursor.Position, code int, text string) {
	if after, err := cursor.Parse(since); err == nil && since != "" {
		frames, code, text, ok := h.resume(ctx, c, after)
		if ok {
			h.m.resumed(true)
		}
		if ok || code != 0 {
			return frames, after, code, text
		}
	}
	snap, code, text := h.snapshot(ctx, c)
	if code != 0 {
		return nil, cursor.Position{}, code, text
	}
	if since != "" {
		h.m.resumed(false) // a cursor that could not be resumed exactly
	}
	return []*hub.Frame{snap}, cursor.Position{}, 0, ""
}

// resume returns the frames of an exact resume after `after`: the missed
// events then {"type":"resumed"}. ok is false when it cannot be exact (or
// history cannot be read), and the client gets a snapshot instead.
func (h *Handler) resume(ctx context.Context, c *conn, after cursor.Position) (frames []*hub.Frame, code int, text string, ok bool) {
	resp, err := h.fanout.History(ctx, c.campaign, after)
	switch {
	case ctx.Err() != nil:
		return nil, websocket.CloseGoingAway, "", false // shut already; its reason wins
	case err != nil:
		h.log.Warn("history failed; sending a snapshot", "campaign_id", c.campaign, "err", err)
		return nil, 0, "", false
	case !resp.GetFound() || !resp.GetComplete():
		return nil, 0, "", false
	}
	if code, text := c.allowed(hub.Visibility{Private: resp.GetPrivate(), OwnerID: resp.GetOwnerId()}); code != 0 {
		return nil, code, text, false
	}
	frames, err = hub.EventFrames(resp.GetDeliveries())
	if err != nil {
		h.log.Error("bad history", "campaign_id", c.campaign, "err", err)
		return nil, 0, "", false
	}
	last := after
	if n := len(frames); n > 0 {
		last = frames[n-1].Pos
	}
	resumed, err := hub.NewFrame(hub.Reply, "resumed", fmt.Appendf(nil, `{"type":"resumed","cursor":%q}`, cursor.Encode(last)), cursor.Position{})
	if err != nil {
		return nil, websocket.CloseInternalServerErr, "internal error", false
	}
	return append(frames, resumed), 0, "", true
}

// snapshot returns a fresh campaign_data frame, or the close code that ends
// the socket instead.
func (h *Handler) snapshot(ctx context.Context, c *conn) (first *hub.Frame, code int, text string) {
	resp, err := h.fanout.Snapshot(ctx, c.campaign)
	switch {
	case ctx.Err() != nil:
		return nil, websocket.CloseGoingAway, "" // shut already; its reason wins
	case err != nil:
		h.log.Warn("snapshot failed", "campaign_id", c.campaign, "err", err)
		return nil, websocket.CloseTryAgainLater, "campaign unavailable"
	case !resp.GetFound():
		return nil, CloseNoSuchCampaign, reasonNoSuchCampaign
	}
	snap, err := hub.SnapshotFrame(resp)
	if err != nil {
		h.log.Error("bad snapshot", "campaign_id", c.campaign, "err", err)
		return nil, websocket.CloseInternalServerErr, "internal error"
	}
	if code, text := c.allowed(hub.Visibility{Private: snap.Private, OwnerID: snap.OwnerID}); code != 0 {
		return nil, code, text
	}
	return snap, 0, ""
}

func (h *Handler) track(c *conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.draining {
		return false
	}
	h.conns[c] = struct{}{}
	h.wg.Add(1)
	h.obs.Opened(c.campaign)
	return true
}

func (h *Handler) untrack(c *conn) {
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
	h.obs.Closed(c.campaign)
	h.wg.Done()
}

// Sockets returns how many sockets are open.
func (h *Handler) Sockets() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// Draining reports whether Drain has begun.
func (h *Handler) Draining() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.draining
}

// Drain refuses new sockets, closes every open one with 1012 (service
// restart) and waits for them to finish closing until ctx ends; then it
// cuts the connections that are left.
func (h *Handler) Drain(ctx context.Context) {
	h.mu.Lock()
	h.draining = true
	n := len(h.conns)
	for c := range h.conns {
		c.shut(websocket.CloseServiceRestart, "service restart")
	}
	h.mu.Unlock()
	h.log.Info("draining sockets", "sockets", n)

	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	h.mu.Lock()
	h.log.Warn("drain deadline: cutting sockets", "sockets", len(h.conns))
	for c := range h.conns {
		_ = c.ws.Close()
	}
	h.mu.Unlock()
	// Cut connections fail every pending read and write at once.
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}
