package auth

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var secret = []byte("test-secret")

func TestVerify(t *testing.T) {
	v, err := NewHS256(secret)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := Mint(secret, User{ID: 12, Username: "ada"}, time.Minute)
	expired, _ := Mint(secret, User{ID: 12, Username: "ada"}, -time.Minute)
	foreign, _ := Mint([]byte("other"), User{ID: 12, Username: "ada"}, time.Minute)
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, Claims{Username: "ada",
		RegisteredClaims: jwt.RegisteredClaims{Subject: "12", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}}).
		SignedString(jwt.UnsafeAllowNoneSignatureType)
	noExp, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, Claims{Username: "ada",
		RegisteredClaims: jwt.RegisteredClaims{Subject: "12"}}).SignedString(secret)
	badSub, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, Claims{Username: "ada",
		RegisteredClaims: jwt.RegisteredClaims{Subject: "ada", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}}).SignedString(secret)

	if u, err := v.Verify(good); err != nil || u != (User{ID: 12, Username: "ada"}) {
		t.Fatalf("Verify(good) = %+v, %v", u, err)
	}
	for name, tok := range map[string]string{
		"expired": expired, "foreign key": foreign, "alg none": none, "no exp": noExp,
		"non-numeric sub": badSub, "garbage": "a.b.c",
		"good with a line break in its signature": good[:len(good)-10] + "\n" + good[len(good)-10:],
		"good with a space after it":              good + " ",
	} {
		if _, err := v.Verify(tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("Verify(%s) = %v, want ErrInvalidToken", name, err)
		}
	}
	if _, err := v.Verify(""); !errors.Is(err, ErrNoToken) {
		t.Errorf("Verify(\"\") = %v, want ErrNoToken", err)
	}
}

func TestTokenFromRequest(t *testing.T) {
	tests := []struct {
		name, url, header, cookie, want string
	}{
		{"header", "/", "Bearer h", "", "h"},
		{"lowercase scheme", "/", "bearer h", "", "h"},
		{"other scheme", "/", "Basic h", "", ""},
		{"query", "/?access_token=q", "", "", "q"},
		{"cookie", "/", "", "c", "c"},
		{"query before cookie", "/?access_token=q", "", "c", "q"},
		{"none", "/", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tc.url, nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			if tc.cookie != "" {
				r.Header.Set("Cookie", CookieName+"="+tc.cookie)
			}
			if got := TokenFromRequest(r); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	v, _ := NewHS256(secret)
	// The same string in every process: the fuzzing workers each run this
	// set-up, and a token minted "now" in another second would be another
	// token, validly signed (it failed CI that way).
	far := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	good, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, Claims{Username: "a", RegisteredClaims: jwt.RegisteredClaims{
		Subject: "1", ExpiresAt: jwt.NewNumericDate(far), IssuedAt: jwt.NewNumericDate(far.Add(-time.Hour))}}).SignedString(secret)
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, tok string) {
		u, err := v.Verify(tok)
		if err == nil && tok != good {
			t.Fatalf("Verify accepted a token it did not sign: %q → %+v", tok, u)
		}
	})
}

func FuzzTokenFromRequest(f *testing.F) {
	f.Add("Bearer abc", "access_token=q", "access_token=c")
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, header, query, cookie string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", header)
		r.URL.RawQuery = query
		r.Header.Set("Cookie", cookie)
		_ = TokenFromRequest(r) // must not panic on any input
	})
}

// TestVerifiedTokensAreRecheckedInTime: a token verified once is not
// trusted past its exp, before its nbf, or, once its key is withdrawn, past
// the cache's minute.
func TestVerifiedTokensAreRecheckedInTime(t *testing.T) {
	v, err := NewHS256(secret)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	v.now = func() time.Time { return clock }
	sign := func(nbf, exp time.Time) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, Claims{Username: "ada", RegisteredClaims: jwt.RegisteredClaims{
			Subject: "12", NotBefore: jwt.NewNumericDate(nbf), ExpiresAt: jwt.NewNumericDate(exp)}}).SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	verifies := func(tok string) bool { _, err := v.Verify(tok); return err == nil }

	short := sign(clock, clock.Add(20*time.Second))
	if !verifies(short) || !verifies(short) {
		t.Fatal("a fresh token does not verify")
	}
	clock = clock.Add(20*time.Second + leeway)
	if verifies(short) {
		t.Error("a token verified before is accepted past its exp")
	}

	later := sign(clock.Add(time.Minute), clock.Add(time.Hour))
	if verifies(later) {
		t.Error("a token is accepted before its nbf")
	}
	clock = clock.Add(time.Minute)
	if !verifies(later) {
		t.Error("a token is refused once its nbf has come")
	}

	long := sign(clock, clock.Add(time.Hour))
	if !verifies(long) {
		t.Fatal("a fresh token does not verify")
	}
	v.keys = func(*jwt.Token) (any, error) { return []byte("rotated"), nil } // its key is withdrawn
	clock = clock.Add(cacheTTL / 2)
	if !verifies(long) {
		t.Error("a verified token was re-checked within the cache's lifetime")
	}
	clock = clock.Add(cacheTTL / 2)
	if verifies(long) {
		t.Error("a token whose key was withdrawn is still accepted after the cache's lifetime")
	}
}
