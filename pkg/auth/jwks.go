package auth

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// JWKS refresh settings: the key set is re-read every refreshInterval, and
// at most once per unknownKIDEvery when a token names a key not in it (a
// rotation published since the last refresh).
var (
	refreshInterval = 5 * time.Minute
	unknownKIDEvery = 10 * time.Second // a variable for tests
)

// newJWKS starts even when the identity provider cannot be reached: a
// service that exited instead would take every replica down with the
// provider (and anonymous viewers, who need no key, with it). Until the key
// set is read, tokens are refused; the first token after the provider is
// back triggers a read (an unknown kid, at most once per unknownKIDEvery),
// and failed reads are logged. Only a URL that can never work fails here.
func newJWKS(ctx context.Context, rawURL string, opts ...jwt.ParserOption) (*Verifier, error) {
	if u, err := url.Parse(rawURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("AUTH_JWKS_URL %q: want an http(s) URL", rawURL)
	}
	startDegraded := true
	k, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{rawURL}, keyfunc.Override{
		HTTPTimeout:               5 * time.Second,
		NoErrorReturnFirstHTTPReq: &startDegraded,
		RefreshInterval:           refreshInterval,
		RefreshUnknownKID:         rate.NewLimiter(rate.Every(unknownKIDEvery), 1),
	})
	if err != nil {
		return nil, fmt.Errorf("AUTH_JWKS_URL: %w", err)
	}
	algs := []string{jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg()}
	return newVerifier(k.Keyfunc, algs, opts), nil
}
