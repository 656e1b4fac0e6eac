//go:build integration

package milestone_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/pkg/replica"
	"github.com/campaign-live/campaign-live/pkg/testkit"
	"github.com/campaign-live/campaign-live/pkg/writesvc"
	"github.com/campaign-live/campaign-live/services/milestone/milestone"
)

var secret = []byte("wiring-secret")

// owner is the user who owns the campaigns tests seed.
var owner = auth.User{ID: 7, Username: "ada"}

// newAPI serves the real handler over pool, whose replica knows campaigns.
func newAPI(t *testing.T, pool *pgxpool.Pool, campaigns ...*campaignv1.Campaign) *testkit.API {
	t.Helper()
	for _, c := range campaigns {
		c.Owner = &campaignv1.User{Id: owner.ID, Username: owner.Username}
		testkit.SeedCampaign(t, pool, c)
	}
	v, _ := auth.NewHS256(secret)
	h, err := milestone.NewHandler(context.Background(), writesvc.Deps{Pool: pool, Verifier: v,
		Log: slog.New(slog.DiscardHandler), Campaigns: replica.NewLookup(pool, 50*time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	return testkit.Serve(t, h)
}

func token(t *testing.T, u auth.User) string {
	tok, err := auth.Mint(secret, u, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestWiring holds every exchange to openapi.yaml: a milestone and its event
// commit together, only the owner adds one, every refusal is problem JSON
// that writes nothing, and a milestone the total already meets is created
// reached.
func TestWiring(t *testing.T) {
	ctx := context.Background()
	pool := progressDB(t)
	api := newAPI(t, pool, &campaignv1.Campaign{Id: 42, Currency: "USD"}, &campaignv1.Campaign{Id: 43, Currency: "EUR", Private: true}).
		WithContract(testkit.LoadContract(t, "../openapi.yaml"))
	ada, bob := token(t, owner), token(t, auth.User{ID: 8, Username: "bob"})

	status, m := api.Do("POST", "/api/campaigns/42/milestones", ada, `{"title":" Half way ","target_amount":"500"}`)
	id, created := m["id"], m["created_at"]
	delete(m, "id")
	delete(m, "created_at")
	want := map[string]any{"campaign": 42.0, "title": "Half way", "target_amount": "500.00", "status": "pending", "reached_at": nil}
	if got := testkit.JSON(m); status != 201 || got != testkit.JSON(want) || id == nil || created == nil {
		t.Fatalf("add milestone: %d %s (id %v, created_at %v), want 201 %s", status, got, id, created, testkit.JSON(want))
	}
	var payload []byte
	if err := pool.QueryRow(ctx, `SELECT payload FROM outbox WHERE event_type = 'milestone'`).Scan(&payload); err != nil {
		t.Fatalf("the milestone's event is not in the outbox: %v", err)
	}
	e, err := event.Unmarshal(payload)
	if got := event.MilestoneFromPB(e.GetMilestone()); err != nil || e.GetCampaignId() != 42 || got.ID != int64(id.(float64)) ||
		got.Status != "pending" || got.TargetAmount != "500.00" || !got.ReachedAt.IsZero() || e.GetProducer() != "milestone" {
		t.Fatalf("outbox event %+v, %v does not describe %v", got, err, m)
	}
	if status, _ := api.Do("POST", "/api/campaigns/43/milestones", ada, `{"title":"Private","target_amount":"1"}`); status != 201 {
		t.Fatalf("owner adds to a private campaign: %d, want 201", status)
	}

	path := "/api/campaigns/42/milestones"
	for _, tc := range []struct {
		name, path, tok, body string
		status                int
		field                 string
	}{
		{"no token", path, "", `{"title":"x","target_amount":"1"}`, 401, ""},
		{"not the owner", path, bob, `{"title":"x","target_amount":"1"}`, 403, ""},
		{"someone else's private campaign", "/api/campaigns/43/milestones", bob, `{"title":"x","target_amount":"1"}`, 404, ""},
		{"no such campaign", "/api/campaigns/44/milestones", ada, `{"title":"x","target_amount":"1"}`, 404, ""},
		{"blank title", path, ada, `{"title":" ","target_amount":"1"}`, 400, "title"},
		{"long title", path, ada, `{"title":"` + strings.Repeat("é", milestone.MaxTitle+1) + `","target_amount":"1"}`, 400, "title"},
		{"zero target", path, ada, `{"title":"x","target_amount":"0"}`, 400, "target_amount"},
		{"float target", path, ada, `{"title":"x","target_amount":500}`, 400, "target_amount"},
		{"three decimals", path, ada, `{"title":"x","target_amount":"1.001"}`, 400, "target_amount"},
		{"status is not the client's", path, ada, `{"title":"x","target_amount":"1","status":"reached"}`, 400, "status"},
		{"malformed", path, ada, `{"title":"x",`, 400, ""},
		{"bad id", "/api/campaigns/0/milestones", ada, `{"title":"x","target_amount":"1"}`, 400, "id"},
		{"too large", path, ada, `{"title":"` + strings.Repeat("a", 70<<10) + `","target_amount":"1"}`, 413, ""},
	} {
		status, p := api.Do("POST", tc.path, tc.tok, tc.body)
		if status != tc.status || p["status"] != float64(tc.status) || p["field"] != nil && p["field"] != tc.field || tc.field != "" && p["field"] != tc.field {
			t.Errorf("%s: %d %v, want %d problem JSON naming %q", tc.name, status, p, tc.status, tc.field)
		}
	}
	if status, p := api.DoHeader("POST", path, ada, `title=x`,
		http.Header{"Content-Type": {"text/plain"}}); status != 415 || p["status"] != 415.0 {
		t.Errorf("text body: %d %v, want 415 problem JSON", status, p)
	}
	var rows, events int
	_ = pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM milestones), (SELECT count(*) FROM outbox)`).Scan(&rows, &events)
	if rows != 2 || events != 2 {
		t.Fatalf("%d milestones and %d events after the refusals, want 2 and 2", rows, events)
	}

	apply(t, newConsumer(pool, nil, topic, "milestone"), at(contribution(t, 42, 1, "600.00", time.Now()), 0, 0))
	status, m = api.Do("POST", "/api/campaigns/42/milestones", ada, `{"title":"Already","target_amount":"600"}`)
	if status != 201 || m["status"] != "reached" || m["reached_at"] != m["created_at"] {
		t.Fatalf("a milestone the total meets: %d %v, want 201, reached at its creation", status, m)
	}
	if got := reachedEvents(t, pool); titles(got) != "[Half way 500.00][Already 600.00]" {
		t.Fatalf("reached events %s, want Half way (by the contribution) and Already (at creation)", titles(got))
	}
}
