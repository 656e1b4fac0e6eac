package limit

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/campaign-live/campaign-live/pkg/auth"
)

func TestParseRate(t *testing.T) {
	if r, err := ParseRate("120/1m"); err != nil || r.Tokens != 120 || r.Interval != time.Minute {
		t.Errorf("120/1m = %+v, %v", r, err)
	}
	if r, err := ParseRate("0"); err != nil || r.Tokens != 0 {
		t.Errorf("0 = %+v, %v", r, err)
	}
	for _, bad := range []string{"", "10", "x/1m", "10/x", "0/1m", "-1/1m", "10/-1s"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) succeeded", bad)
		}
	}
}

func TestWrites(t *testing.T) {
	secret := []byte("s")
	v, _ := auth.NewHS256(secret)
	w, err := NewWrites(Rate{Tokens: 5, Interval: time.Hour}, Rate{Tokens: 2, Interval: time.Hour}, v)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	h := w.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(201) }))
	send := func(method, ip, tok string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/api/campaigns/1/comments", nil)
		r.RemoteAddr = ip + ":5555"
		if tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	ada, _ := auth.Mint(secret, auth.User{ID: 1, Username: "ada"}, time.Minute)

	codes := ""
	for range 3 {
		codes += strconv.Itoa(send("POST", "10.0.0.1", ada).Code) + " "
	}
	if codes != "201 201 429 " {
		t.Fatalf("one user's three writes: %s, want 201 201 429", codes)
	}
	rec := send("POST", "10.0.0.2", ada)
	if rec.Code != 429 || rec.Header().Get("Retry-After") == "" || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("same user from another IP: %d %v, want 429 with Retry-After", rec.Code, rec.Header())
	}
	if got := send("GET", "10.0.0.1", ada).Code; got != 201 {
		t.Fatalf("a read is not limited: %d", got)
	}
	// Anonymous (or forged-token) writes count against the IP only.
	codes = ""
	for range 6 {
		codes += strconv.Itoa(send("POST", "10.0.0.3", "forged").Code) + " "
	}
	if codes != "201 201 201 201 201 429 " {
		t.Fatalf("one IP's six writes: %s, want five 201 then 429", codes)
	}
}

func TestClientIP(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "127.0.0.1:1234"
	if got := ClientIP(r); got != "127.0.0.1" {
		t.Errorf("peer: %q", got)
	}
	r.Header.Add("X-Forwarded-For", "6.6.6.6, 1.2.3.4")
	if got := ClientIP(r); got != "1.2.3.4" {
		t.Errorf("spoofed first hop: %q, want the proxy's 1.2.3.4", got)
	}
	r.Header.Set("X-Forwarded-For", "garbage")
	if got := ClientIP(r); got != "127.0.0.1" {
		t.Errorf("garbage XFF: %q, want the peer", got)
	}

	// Only a proxy's word counts: a peer on a public address that sends
	// the header itself is held to its own address.
	r.Header.Set("X-Forwarded-For", "1.2.3.4")
	for peer, want := range map[string]string{
		"10.1.2.3:443":        "1.2.3.4", // a cluster's edge
		"192.168.0.9:80":      "1.2.3.4",
		"[fd00::1]:80":        "1.2.3.4",
		"[::1]:80":            "1.2.3.4",
		"203.0.113.7:5555":    "203.0.113.7",
		"[2001:db8::7]:5555":  "2001:db8::7",
		"[::ffff:8.8.8.8]:80": "::ffff:8.8.8.8",
	} {
		r.RemoteAddr = peer
		if got := ClientIP(r); got != want {
			t.Errorf("peer %s sending X-Forwarded-For 1.2.3.4: %q, want %q", peer, got, want)
		}
	}
}
