//go:build integration

package comment_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/outbox"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/pkg/replica"
	"github.com/campaign-live/campaign-live/pkg/testkit"
	"github.com/campaign-live/campaign-live/pkg/writesvc"
	"github.com/campaign-live/campaign-live/services/comment/comment"
)

// TestWiring drives the real handler over a real database with a seeded
// campaign replica, holding every exchange to openapi.yaml: a comment and
// its event commit together, private campaigns take comments from their
// owner only, and every refusal is problem JSON that writes nothing.
func TestWiring(t *testing.T) {
	secret := []byte("wiring-secret")
	ctx := context.Background()
	pool, _ := testkit.DB(t, outbox.Migrations(), replica.Migrations(), comment.Migrations())
	ada := &campaignv1.User{Id: 7, Username: "ada"}
	testkit.SeedCampaign(t, pool, &campaignv1.Campaign{Id: 42, Currency: "USD", Owner: ada})
	testkit.SeedCampaign(t, pool, &campaignv1.Campaign{Id: 43, Currency: "USD", Owner: ada, Private: true})
	v, _ := auth.NewHS256(secret)
	h, err := comment.NewHandler(ctx, writesvc.Deps{Pool: pool, Verifier: v, Log: slog.New(slog.DiscardHandler),
		Campaigns: replica.NewLookup(pool, 50*time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	api := testkit.Serve(t, h).WithContract(testkit.LoadContract(t, "../openapi.yaml"))
	owner, _ := auth.Mint(secret, auth.User{ID: 7, Username: "ada"}, time.Minute)
	bob, _ := auth.Mint(secret, auth.User{ID: 8, Username: "bob"}, time.Minute)
	expired, _ := auth.Mint(secret, auth.User{ID: 8, Username: "bob"}, -time.Minute)

	status, c := api.Do("POST", "/api/campaigns/42/comments", bob, `{"content":"  Lovely kiln!\n "}`)
	want := map[string]any{"campaign": 42.0, "content": "Lovely kiln!", "user": map[string]any{"id": 8.0, "username": "bob"}}
	for k, v := range want {
		if got, w := testkit.JSON(c[k]), testkit.JSON(v); status != 201 || got != w {
			t.Fatalf("comment: %d, %s = %s, want 201 with %s", status, k, got, w)
		}
	}
	var payload []byte
	if err := pool.QueryRow(ctx, `SELECT payload FROM outbox WHERE event_type = 'comment'`).Scan(&payload); err != nil {
		t.Fatalf("the comment's event is not in the outbox: %v", err)
	}
	e, err := event.Unmarshal(payload)
	var pushed map[string]any
	_ = json.Unmarshal([]byte(testkit.JSON(event.CommentFromPB(e.GetComment()))), &pushed)
	if got := testkit.JSON(pushed); err != nil || e.GetCampaignId() != 42 || got != testkit.JSON(c) {
		t.Fatalf("outbox event %s, %v; want what the response said, %s", got, err, testkit.JSON(c))
	}
	if status, _ := api.Do("POST", "/api/campaigns/43/comments", owner, `{"content":"note to self"}`); status != 201 {
		t.Fatalf("owner comments on a private campaign: %d, want 201", status)
	}

	long := strings.Repeat("é", comment.MaxContent+1)
	for _, tc := range []struct {
		name, path, tok, body string
		status                int
		field                 string
	}{
		{"no token", "/api/campaigns/42/comments", "", `{"content":"x"}`, 401, ""},
		{"expired token", "/api/campaigns/42/comments", expired, `{"content":"x"}`, 401, ""},
		{"blank", "/api/campaigns/42/comments", bob, `{"content":" \t"}`, 400, "content"},
		{"missing", "/api/campaigns/42/comments", bob, `{}`, 400, "content"},
		{"too long", "/api/campaigns/42/comments", bob, `{"content":"` + long + `"}`, 400, "content"},
		{"NUL", "/api/campaigns/42/comments", bob, `{"content":"a\u0000b"}`, 400, "content"},
		{"not a string", "/api/campaigns/42/comments", bob, `{"content":1}`, 400, "content"},
		{"unknown field", "/api/campaigns/42/comments", bob, `{"content":"x","user":1}`, 400, "user"},
		{"malformed", "/api/campaigns/42/comments", bob, `{"content":`, 400, ""},
		{"too large", "/api/campaigns/42/comments", bob, `{"content":"` + strings.Repeat("a", 70<<10) + `"}`, 413, ""},
		{"bad id", "/api/campaigns/4x/comments", bob, `{"content":"x"}`, 400, "id"},
		{"no such campaign", "/api/campaigns/44/comments", bob, `{"content":"x"}`, 404, ""},
		{"someone else's private campaign", "/api/campaigns/43/comments", bob, `{"content":"x"}`, 404, ""},
	} {
		status, p := api.Do("POST", tc.path, tc.tok, tc.body)
		if status != tc.status || p["status"] != float64(tc.status) || p["field"] != nil && p["field"] != tc.field || tc.field != "" && p["field"] != tc.field {
			t.Errorf("%s: %d %v, want %d problem JSON naming %q", tc.name, status, p, tc.status, tc.field)
		}
	}
	if status, p := api.DoHeader("POST", "/api/campaigns/42/comments", bob, `content=x`,
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}); status != 415 || p["status"] != 415.0 {
		t.Errorf("form body: %d %v, want 415 problem JSON", status, p)
	}
	if status, p := testkit.Serve(t, h).Do("GET", "/api/campaigns/42/comments", bob, ""); status != 404 || p["status"] != 404.0 {
		t.Errorf("unrouted GET: %d %v, want 404 problem JSON", status, p)
	}
	var rows, events int
	_ = pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM comments), (SELECT count(*) FROM outbox)`).Scan(&rows, &events)
	if rows != 2 || events != 2 {
		t.Fatalf("%d comments and %d events after the refusals, want 2 and 2", rows, events)
	}
}
