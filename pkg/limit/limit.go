// Package limit holds the rate limits of the REST write path: requests per
// client IP and per signed-in user, each a token bucket (sethvargo/go-limiter)
// refilled every interval. A refused request gets 429 problem JSON with
// Retry-After. Limits are per process: behind a load balancer with N replicas
// a client gets up to N times the budget, which is what these limits are for
// (stopping floods, not metering).
package limit

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-limiter"
	"github.com/sethvargo/go-limiter/memorystore"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/problem"
)

var refusals, _ = otel.Meter("github.com/campaign-live/campaign-live/pkg/limit").Int64Counter(
	"rate_limit_refusals_total", metric.WithDescription("Requests refused by a rate limit, by limit (ip, user)."))

// ErrTooMany is the refusal.
var ErrTooMany = problem.New(problem.TooMany, "too many requests")

// Rate is a budget: Tokens requests per Interval.
type Rate struct {
	Tokens   uint64
	Interval time.Duration
}

// ParseRate reads "120/1m" (120 requests a minute); "0" turns the limit off.
func ParseRate(s string) (Rate, error) {
	if s == "0" {
		return Rate{}, nil
	}
	n, d, ok := strings.Cut(s, "/")
	tokens, err1 := strconv.ParseUint(n, 10, 32)
	interval, err2 := time.ParseDuration(d)
	if !ok || err1 != nil || err2 != nil || tokens == 0 || interval <= 0 {
		return Rate{}, fmt.Errorf("want N/DURATION such as 120/1m, or 0 for no limit")
	}
	return Rate{Tokens: tokens, Interval: interval}, nil
}

// Writes limits unsafe requests (POST, PUT, PATCH, DELETE) per client IP and
// per user; safe requests pass.
type Writes struct {
	perIP, perUser limiter.Store
	verifier       *auth.Verifier
}

// NewWrites returns the limits; a zero Rate is no limit.
func NewWrites(perIP, perUser Rate, v *auth.Verifier) (*Writes, error) {
	w := &Writes{verifier: v}
	var err error
	if w.perIP, err = store(perIP); err != nil {
		return nil, err
	}
	if w.perUser, err = store(perUser); err != nil {
		return nil, err
	}
	return w, nil
}

func store(r Rate) (limiter.Store, error) {
	if r.Tokens == 0 {
		return nil, nil
	}
	return memorystore.New(&memorystore.Config{Tokens: r.Tokens, Interval: r.Interval, SweepInterval: 10 * r.Interval})
}

// Close stops the stores' sweepers.
func (w *Writes) Close() {
	for _, s := range []limiter.Store{w.perIP, w.perUser} {
		if s != nil {
			_ = s.Close(context.Background())
		}
	}
}

// Handler applies the limits before next.
func (w *Writes) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(rw, r)
			return
		}
		if !take(rw, r, w.perIP, "ip:"+ClientIP(r)) {
			return
		}
		// The user is verified again by the endpoint; here only a valid
		// token names a bucket, so a forged one cannot drain another's.
		if u, err := w.verifier.Verify(auth.TokenFromRequest(r)); err == nil {
			if !take(rw, r, w.perUser, "user:"+strconv.FormatInt(u.ID, 10)) {
				return
			}
		}
		next.ServeHTTP(rw, r)
	})
}

func take(w http.ResponseWriter, r *http.Request, s limiter.Store, key string) bool {
	if s == nil {
		return true
	}
	_, _, reset, ok, err := s.Take(r.Context(), key)
	if err != nil || ok {
		return true // a limiter failure must not refuse writes
	}
	refusals.Add(r.Context(), 1, metric.WithAttributes(attribute.String("limit", strings.SplitN(key, ":", 2)[0])))
	wait := time.Until(time.Unix(0, int64(reset)))
	problem.RetryAfter(w, max(1, int(wait.Seconds()+0.999)))
	problem.Write(w, ErrTooMany.With("retry after the Retry-After seconds"))
	return false
}

// ClientIP is the address the request came from: the last hop our own proxy
// appended to X-Forwarded-For (devedge locally, the Gateway in a cluster),
// else the peer. Earlier entries are the client's word and are not trusted,
// and the header is read only from a peer on a loopback or private address
// (RFC 1918, fc00::/7), where the edge proxies run: a client that reaches a
// service directly from anywhere else cannot name another address to
// escape its per-IP limit.
func ClientIP(r *http.Request) string {
	peer := r.RemoteAddr
	if host, _, err := net.SplitHostPort(peer); err == nil {
		peer = host
	}
	if !trustedProxy(peer) {
		return peer
	}
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		last := xff[len(xff)-1]
		if i := strings.LastIndexByte(last, ','); i >= 0 {
			last = last[i+1:]
		}
		if ip := strings.TrimSpace(last); net.ParseIP(ip) != nil {
			return ip
		}
	}
	return peer
}

// trustedProxy reports whether peer may speak for the client: a loopback
// or private address.
func trustedProxy(peer string) bool {
	a, err := netip.ParseAddr(peer)
	if err != nil {
		return false
	}
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate()
}
