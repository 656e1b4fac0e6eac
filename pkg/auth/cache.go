package auth

import (
	"sync"
	"time"
)

// verified remembers the tokens that verified, so a client's token is parsed
// and its signature checked once rather than on every request: verification
// was a tenth of the contribution service's CPU at 1,000 writes/s, done
// twice per request (the write rate limiter and the endpoint each verify).
// An entry holds the token's user and the window its claims make it valid
// in (nbf and exp, with the parser's leeway), and lives at most cacheTTL, so
// a key withdrawn from the JWKS stops admitting its tokens soon after. Only
// tokens that verified are kept; a refused token is checked in full each
// time.
type verified struct {
	mu      sync.Mutex
	entries map[string]verifiedEntry
}

type verifiedEntry struct {
	user        User
	from, until time.Time // valid in [from, until)
}

const (
	cacheTTL     = time.Minute
	cacheEntries = 10_000 // then the cache starts over
)

func (c *verified) get(token string, now time.Time) (User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[token]
	if !ok {
		return User{}, false
	}
	if now.Before(e.from) || !now.Before(e.until) {
		delete(c.entries, token)
		return User{}, false
	}
	return e.user, true
}

func (c *verified) put(token string, u User, claims *Claims, now time.Time) {
	e := verifiedEntry{user: u, from: now, until: now.Add(cacheTTL)}
	if claims.ExpiresAt != nil {
		e.until = minTime(e.until, claims.ExpiresAt.Add(leeway))
	}
	if claims.NotBefore != nil {
		e.from = claims.NotBefore.Add(-leeway)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= cacheEntries {
		c.entries = make(map[string]verifiedEntry)
	}
	c.entries[token] = e
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
