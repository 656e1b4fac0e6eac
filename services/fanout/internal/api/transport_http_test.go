package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/problem"
	"github.com/campaign-live/campaign-live/services/fanout/internal/view"
)

var secret = []byte("test-secret")

func token(t *testing.T, id int64) string {
	t.Helper()
	tok, err := auth.Mint(secret, auth.User{ID: id, Username: "u"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestHTTPCampaign(t *testing.T) {
	private := snap42
	private.Private = true
	views := fakeViews{42: snap42, 43: private}
	v, err := auth.NewHS256(secret)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHTTPHandler(MakeSet(NewService(views), v), quiet)
	anonymous := NewHTTPHandler(MakeSet(NewService(views), nil), quiet)

	tests := []struct {
		name    string
		handler http.Handler
		path    string
		token   string
		status  int
		body    string // exact body for 200
	}{
		{"found", h, "/api/live/campaigns/42", "", 200, string(snap42.Frame)},
		{"not found", h, "/api/live/campaigns/7", "", 404, ""},
		{"not digits", h, "/api/live/campaigns/abc", "", 400, ""},
		{"signed", h, "/api/live/campaigns/+42", "", 400, ""},
		{"zero", h, "/api/live/campaigns/0", "", 400, ""},
		{"overflow", h, "/api/live/campaigns/99999999999999999999", "", 400, ""},
		{"private, anonymous", h, "/api/live/campaigns/43", "", 404, ""},
		{"private, another user", h, "/api/live/campaigns/43", token(t, 4), 404, ""},
		{"private, its owner", h, "/api/live/campaigns/43", token(t, 3), 200, string(private.Frame)},
		{"private, no verifier", anonymous, "/api/live/campaigns/43", token(t, 3), 404, ""},
		{"bad token", h, "/api/live/campaigns/42", "garbage", 401, ""},
		{"database down", h, "/api/live/campaigns/500", "", 500, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			rec := httptest.NewRecorder()
			tc.handler.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d (body %s)", rec.Code, tc.status, rec.Body)
			}
			if tc.status == 200 {
				if got := rec.Body.String(); got != tc.body {
					t.Fatalf("body %s, want the snapshot frame %s", got, tc.body)
				}
				if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
					t.Fatalf("Content-Type %q", ct)
				}
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("Content-Type %q, want problem JSON", ct)
			}
			var p problem.Body
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != tc.status {
				t.Fatalf("problem body %s (%v), want status %d", rec.Body, err, tc.status)
			}
		})
	}
}

var _ Views = fakeViews{}
var _ Views = (*view.Store)(nil)
