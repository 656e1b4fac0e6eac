// Package auth verifies the JWTs that browsers and API clients present and
// carries the verified user through a request's context.
//
// Locally tokens are HS256, signed with AUTH_JWT_SECRET; in production they
// are RS256 or ES256, verified with the keys published at AUTH_JWKS_URL
// (refreshed periodically and when a token names an unknown key, so keys
// rotate without a restart). Claims are `sub` (the user id, digits),
// `username` and `exp`; `nbf` is honoured, and `iss`/`aud` are checked when
// configured. A token is never logged: code that needs to mention one says
// only whether it was present.
package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Errors returned by Verify. Both mean "not signed in"; callers answer 401
// (HTTP) or close 4401 (WebSocket).
var (
	ErrNoToken      = errors.New("authentication required")
	ErrInvalidToken = errors.New("invalid or expired token")
)

// User is a verified user.
type User struct {
	ID       int64
	Username string
}

// Claims are the claims campaign-live reads from a token.
type Claims struct {
	Username string `json:"username"`
	jwt.RegisteredClaims
}

// Verifier checks tokens.
type Verifier struct {
	keys     jwt.Keyfunc
	parser   *jwt.Parser
	verified verified
	now      func() time.Time // the clock, for tests
}

// Config says how to verify tokens: with JWKSURL set, RS256/ES256 tokens
// against the published keys; otherwise HS256 tokens against Secret.
type Config struct {
	Secret   string
	JWKSURL  string
	Issuer   string // checked when set
	Audience string // checked when set
}

// New returns the Verifier cfg describes. With a JWKS URL it fetches the key
// set once before returning (an unreachable URL is an error at start, not a
// refusal of every request later), and refreshes it in the background until
// ctx ends.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	var opts []jwt.ParserOption
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	if cfg.JWKSURL == "" {
		return NewHS256([]byte(cfg.Secret), opts...)
	}
	return newJWKS(ctx, cfg.JWKSURL, opts...)
}

// NewHS256 returns a Verifier for tokens signed with secret.
func NewHS256(secret []byte, opts ...jwt.ParserOption) (*Verifier, error) {
	if len(secret) == 0 {
		return nil, errors.New("auth: empty secret")
	}
	key := func(*jwt.Token) (any, error) { return secret, nil }
	return newVerifier(key, []string{jwt.SigningMethodHS256.Alg()}, opts), nil
}

func newVerifier(keys jwt.Keyfunc, algs []string, opts []jwt.ParserOption) *Verifier {
	opts = append([]jwt.ParserOption{
		jwt.WithValidMethods(algs),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(leeway),
		// One spelling per token: base64 padding bits must be zero.
		jwt.WithStrictDecoding(),
	}, opts...)
	v := &Verifier{keys: keys, now: time.Now}
	v.parser = jwt.NewParser(append(opts, jwt.WithTimeFunc(func() time.Time { return v.now() }))...)
	return v
}

// leeway is the clock skew allowed on exp and nbf.
const leeway = 5 * time.Second

// Verify checks token and returns its user.
func (v *Verifier) Verify(token string) (User, error) {
	if token == "" {
		return User{}, ErrNoToken
	}
	// Base64 decoding skips line breaks, so a signed token with one
	// inserted would verify: refuse any byte a compact JWT cannot hold,
	// so that a token has one spelling (found by FuzzVerify).
	if strings.IndexFunc(token, notCompactJWT) >= 0 {
		return User{}, fmt.Errorf("%w: not a compact JWT", ErrInvalidToken)
	}
	now := v.now()
	if u, ok := v.verified.get(token, now); ok {
		return u, nil
	}
	var c Claims
	if _, err := v.parser.ParseWithClaims(token, &c, v.keys); err != nil {
		return User{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	id, err := strconv.ParseInt(c.Subject, 10, 64)
	if err != nil || id <= 0 || strings.TrimSpace(c.Username) == "" {
		return User{}, fmt.Errorf("%w: sub must be a positive integer and username non-empty", ErrInvalidToken)
	}
	u := User{ID: id, Username: c.Username}
	v.verified.put(token, u, &c, now)
	return u, nil
}

// notCompactJWT reports a rune outside base64url and the dot.
func notCompactJWT(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
}

// Mint signs a token for u, valid for ttl. It is for local development and
// tests; production tokens come from the platform's identity provider.
func Mint(secret []byte, u User, ttl time.Duration) (string, error) {
	now := time.Now()
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, Claims{
		Username: u.Username,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   strconv.FormatInt(u.ID, 10),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	})
	s, err := t.SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// CookieName and QueryParam name where browsers may put their token.
const (
	CookieName = "access_token"
	QueryParam = "access_token"
)

// TokenFromRequest returns the token of r, from the `Authorization: Bearer`
// header, the `access_token` query parameter or the `access_token` cookie,
// in that order; "" when there is none.
func TokenFromRequest(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if scheme, tok, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	if tok := r.URL.Query().Get(QueryParam); tok != "" {
		return tok
	}
	if c, err := r.Cookie(CookieName); err == nil {
		return c.Value
	}
	return ""
}

type tokenKey struct{}

// TokenToContext stores the request's raw token in the context, for go-kit's
// httptransport.ServerBefore; Require verifies it later.
func TokenToContext(ctx context.Context, r *http.Request) context.Context {
	return context.WithValue(ctx, tokenKey{}, TokenFromRequest(r))
}

type userKey struct{}

// WithUser returns ctx carrying u.
func WithUser(ctx context.Context, u User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFrom returns the verified user of ctx.
func UserFrom(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userKey{}).(User)
	return u, ok
}

// Authenticate verifies the token stored by TokenToContext and returns ctx
// with its user.
func (v *Verifier) Authenticate(ctx context.Context) (context.Context, error) {
	tok, _ := ctx.Value(tokenKey{}).(string)
	u, err := v.Verify(tok)
	if err != nil {
		return ctx, err
	}
	return WithUser(ctx, u), nil
}
