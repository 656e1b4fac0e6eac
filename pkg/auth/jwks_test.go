package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func rsaJWK(kid string, k *rsa.PrivateKey) map[string]string {
	return map[string]string{"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
		"n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
}

func ecJWK(kid string, k *ecdsa.PrivateKey) map[string]string {
	return map[string]string{"kty": "EC", "kid": kid, "alg": "ES256", "use": "sig", "crv": "P-256",
		"x": b64(k.X.FillBytes(make([]byte, 32))), "y": b64(k.Y.FillBytes(make([]byte, 32)))}
}

// jwksServer publishes a key set that the test can change, as an identity
// provider rotating its keys would.
type jwksServer struct {
	mu   sync.Mutex
	keys []map[string]string
}

func (s *jwksServer) set(keys ...map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = keys
}

func (s *jwksServer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"keys": s.keys})
}

func sign(t *testing.T, method jwt.SigningMethod, kid string, key any, claims Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func claims(iss, aud string) Claims {
	c := Claims{Username: "ada", RegisteredClaims: jwt.RegisteredClaims{
		Subject: "12", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)), Issuer: iss}}
	if aud != "" {
		c.Audience = jwt.ClaimStrings{aud}
	}
	return c
}

func TestJWKSVerifiesAndRotates(t *testing.T) {
	unknownKIDEvery = 200 * time.Millisecond
	rsaA, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaB, _ := rsa.GenerateKey(rand.Reader, 2048)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keys := &jwksServer{}
	keys.set(rsaJWK("a", rsaA), ecJWK("e", ec))
	srv := httptest.NewServer(keys)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	v, err := New(ctx, Config{JWKSURL: srv.URL, Issuer: "https://id.example", Audience: "campaign-live"})
	if err != nil {
		t.Fatal(err)
	}
	good := claims("https://id.example", "campaign-live")
	if u, err := v.Verify(sign(t, jwt.SigningMethodRS256, "a", rsaA, good)); err != nil || u.ID != 12 {
		t.Fatalf("RS256 token: %+v, %v", u, err)
	}
	if _, err := v.Verify(sign(t, jwt.SigningMethodES256, "e", ec, good)); err != nil {
		t.Fatalf("ES256 token: %v", err)
	}
	refusals := map[string]string{
		"wrong issuer":          sign(t, jwt.SigningMethodRS256, "a", rsaA, claims("https://evil.example", "campaign-live")),
		"wrong audience":        sign(t, jwt.SigningMethodRS256, "a", rsaA, claims("https://id.example", "other")),
		"unknown key":           sign(t, jwt.SigningMethodRS256, "b", rsaB, good),
		"key under another kid": sign(t, jwt.SigningMethodRS256, "a", rsaB, good),
		"HS256 with the public key as secret": func() string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, good).SignedString(rsaA.N.Bytes())
			return s
		}(),
	}
	for name, tok := range refusals {
		if _, err := v.Verify(tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: Verify = %v, want ErrInvalidToken", name, err)
		}
	}

	// The provider rotates to key b: a token signed with it is accepted
	// once the set is refreshed for the unknown kid.
	keys.set(rsaJWK("b", rsaB))
	rotated := sign(t, jwt.SigningMethodRS256, "b", rsaB, good)
	deadline := time.Now().Add(2 * unknownKIDEvery)
	for {
		_, err := v.Verify(rotated)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("token of the rotated key still refused: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestJWKSUnreachableAtStart: a service starts while the identity provider
// is down, refuses tokens meanwhile, and accepts them once it is back.
func TestJWKSUnreachableAtStart(t *testing.T) {
	unknownKIDEvery = 200 * time.Millisecond
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	keys := &jwksServer{}
	keys.set(rsaJWK("a", key))
	var up sync.Mutex
	down := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up.Lock()
		defer up.Unlock()
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		keys.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	v, err := New(ctx, Config{JWKSURL: srv.URL})
	if err != nil {
		t.Fatalf("New while the provider is down: %v", err)
	}
	tok := sign(t, jwt.SigningMethodRS256, "a", key, claims("", ""))
	if _, err := v.Verify(tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Verify while no key is known = %v, want ErrInvalidToken", err)
	}
	up.Lock()
	down = false
	up.Unlock()
	deadline := time.Now().Add(10 * unknownKIDEvery)
	for {
		_, err := v.Verify(tok)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("token still refused after the provider came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestJWKSURLMustBeHTTP(t *testing.T) {
	for _, u := range []string{"", "not a url", "file:///etc/keys.json", "https://"} {
		if _, err := newJWKS(context.Background(), u); err == nil {
			t.Errorf("newJWKS(%q) succeeded", u)
		}
	}
}

func TestIssuerAndAudienceWithSecret(t *testing.T) {
	secret := []byte("s")
	v, err := New(context.Background(), Config{Secret: "s", Issuer: "me", Audience: "us"})
	if err != nil {
		t.Fatal(err)
	}
	ok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims("me", "us")).SignedString(secret)
	bad, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims("me", "them")).SignedString(secret)
	if _, err := v.Verify(ok); err != nil {
		t.Errorf("matching iss/aud: %v", err)
	}
	if _, err := v.Verify(bad); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("wrong aud: %v, want ErrInvalidToken", err)
	}
	notYet := claims("me", "us")
	notYet.NotBefore = jwt.NewNumericDate(time.Now().Add(time.Hour))
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, notYet).SignedString(secret)
	if _, err := v.Verify(tok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("nbf in the future: %v, want ErrInvalidToken", err)
	}
}
