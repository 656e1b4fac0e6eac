package auth

import (
	"context"
	"fmt"
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

func newJWKS(ctx context.Context, url string, opts ...jwt.ParserOption) (*Verifier, error) {
	fail := false
	k, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{url}, keyfunc.Override{
		HTTPTimeout:               5 * time.Second,
		NoErrorReturnFirstHTTPReq: &fail,
		RefreshInterval:           refreshInterval,
		RefreshUnknownKID:         rate.NewLimiter(rate.Every(unknownKIDEvery), 1),
	})
	if err != nil {
		return nil, fmt.Errorf("AUTH_JWKS_URL: %w", err)
	}
	algs := []string{jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg()}
	return newVerifier(k.Keyfunc, algs, opts), nil
}
