//go:build integration

package content_test

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
	"github.com/campaign-live/campaign-live/pkg/outbox"
	"github.com/campaign-live/campaign-live/pkg/testkit"
	"github.com/campaign-live/campaign-live/pkg/writesvc"
	"github.com/campaign-live/campaign-live/services/content/content"
)

var secret = []byte("wiring-secret")

// TestAPI drives the real handler over a real database, holding every
// exchange to openapi.yaml.
func TestAPI(t *testing.T) {
	contract := testkit.LoadContract(t, "../openapi.yaml")
	t.Run("campaigns", func(t *testing.T) { testCampaigns(t, contract) })
	t.Run("posts", func(t *testing.T) { testPosts(t, contract) })
}

func serve(t *testing.T, contract *testkit.Contract) (*testkit.API, *pgxpool.Pool) {
	pool, _ := testkit.DB(t, outbox.Migrations(), content.Migrations())
	v, _ := auth.NewHS256(secret)
	h, err := content.NewHandler(context.Background(), writesvc.Deps{Pool: pool, Verifier: v, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return testkit.Serve(t, h).WithContract(contract), pool
}

// testCampaigns: a created campaign and its outbox event are committed
// together, and refusals are problem JSON that change nothing.
func testCampaigns(t *testing.T, contract *testkit.Contract) {
	api, pool := serve(t, contract)
	do := api.Do
	ada, _ := auth.Mint(secret, auth.User{ID: 7, Username: "ada"}, time.Minute)
	bob, _ := auth.Mint(secret, auth.User{ID: 8, Username: "bob"}, time.Minute)

	status, c := do("POST", "/api/campaigns", ada, `{"title":" Kiln ","description":"d","goal_amount":"1000.5","currency":"USD"}`)
	if status != 201 || c["title"] != "Kiln" || c["goal_amount"] != "1000.50" || c["owner"].(map[string]any)["username"] != "ada" {
		t.Fatalf("create: %d %v", status, c)
	}
	var payload []byte
	if err := pool.QueryRow(context.Background(), `SELECT payload FROM outbox WHERE event_type = 'campaign'`).Scan(&payload); err != nil {
		t.Fatalf("the campaign's event is not in the outbox: %v", err)
	}
	e, err := event.Unmarshal(payload)
	if err != nil || e.GetCampaign().GetId() != int64(c["id"].(float64)) || e.GetCampaign().GetGoalAmount() != "1000.50" {
		t.Fatalf("outbox event %v, %v does not describe %v", e, err, c)
	}

	_, private := do("POST", "/api/campaigns", ada, `{"title":"Secret","description":"","goal_amount":"10","currency":"EUR","private":true}`)
	privatePath := "/api/campaigns/" + testkit.JSON(private["id"])
	if status, _ := do("GET", privatePath, ada, ""); status != 200 {
		t.Errorf("owner GET private campaign: %d, want 200", status)
	}
	if status, _ := do("GET", privatePath, bob, ""); status != 404 {
		t.Errorf("other user GET private campaign: %d, want 404", status)
	}
	if _, list := do("GET", "/api/campaigns", "", ""); len(list["campaigns"].([]any)) != 1 {
		t.Errorf("list shows %v, want only the public campaign", list)
	}

	refusals := []struct {
		name, tok, body string
		status          int
		field           string
	}{
		{"no token", "", `{"title":"x","description":"","goal_amount":"1","currency":"USD"}`, 401, ""},
		{"expired token", mustMint(t, -time.Minute), `{"title":"x","description":"","goal_amount":"1","currency":"USD"}`, 401, ""},
		{"empty title", ada, `{"title":"  ","description":"","goal_amount":"1","currency":"USD"}`, 400, "title"},
		{"float goal", ada, `{"title":"x","description":"","goal_amount":1,"currency":"USD"}`, 400, "goal_amount"},
		{"bad currency", ada, `{"title":"x","description":"","goal_amount":"1","currency":"usd"}`, 400, "currency"},
		{"malformed", ada, `{"title":`, 400, ""},
		{"too large", ada, `{"title":"x","description":"` + strings.Repeat("a", 70<<10) + `","goal_amount":"1","currency":"USD"}`, 413, ""},
	}
	if status, _ := api.DoHeader("POST", "/api/campaigns", ada, `title=x`, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}); status != 415 {
		t.Errorf("form body: %d, want 415", status)
	}
	for _, tc := range refusals {
		status, p := do("POST", "/api/campaigns", tc.tok, tc.body)
		if status != tc.status || p["status"] != float64(tc.status) || (p["field"] != nil && p["field"] != tc.field) || (tc.field != "" && p["field"] != tc.field) {
			t.Errorf("%s: %d %v, want %d naming %q", tc.name, status, p, tc.status, tc.field)
		}
	}
	if status, _ := do("GET", "/api/campaigns/999999", "", ""); status != 404 {
		t.Errorf("GET missing campaign: %d, want 404", status)
	}
	if status, _ := do("GET", "/api/campaigns/x1", "", ""); status != 400 {
		t.Errorf("GET non-numeric id: %d, want 400", status)
	}
	var rows, events int
	_ = pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM campaigns), (SELECT count(*) FROM outbox)`).Scan(&rows, &events)
	if rows != 2 || events != 2 {
		t.Fatalf("%d campaigns and %d events after the refusals, want 2 and 2", rows, events)
	}
}

func mustMint(t *testing.T, ttl time.Duration) string {
	tok, err := auth.Mint(secret, auth.User{ID: 7, Username: "ada"}, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// testPosts: only a campaign's owner posts updates and releases; each
// commits with its event.
func testPosts(t *testing.T, contract *testkit.Contract) {
	api, pool := serve(t, contract)
	do := api.Do
	ada := mustMint(t, time.Minute)
	bob, _ := auth.Mint(secret, auth.User{ID: 8, Username: "bob"}, time.Minute)
	_, c := do("POST", "/api/campaigns", ada, `{"title":"Kiln","description":"","goal_amount":"10","currency":"USD"}`)
	_, hidden := do("POST", "/api/campaigns", ada, `{"title":"Hidden","description":"","goal_amount":"10","currency":"USD","private":true}`)
	base := "/api/campaigns/" + testkit.JSON(c["id"])

	status, u := do("POST", base+"/updates", ada, `{"title":"Week 1","content":"Bricks laid"}`)
	if status != 201 || u["title"] != "Week 1" || u["image"] != nil || u["campaign"] != c["id"] || u["created_at"] == nil {
		t.Fatalf("post update: %d %v", status, u)
	}
	status, r := do("POST", base+"/releases", ada, `{"title":"First firing","version":"1.0","notes":"n"}`)
	if status != 201 || r["version"] != "1.0" || r["campaign"] != c["id"] {
		t.Fatalf("post release: %d %v", status, r)
	}
	if status, u := do("POST", base+"/updates", ada, `{"title":"Pic","content":"c","image":"https://img.example/1.png"}`); status != 201 || u["image"] != "https://img.example/1.png" {
		t.Fatalf("post update with image: %d %v", status, u)
	}

	for _, tc := range []struct {
		name, path, tok, body string
		status                int
	}{
		{"not the owner", base + "/updates", bob, `{"title":"x","content":"y"}`, 403},
		{"release, not the owner", base + "/releases", bob, `{"title":"x","version":"1","notes":""}`, 403},
		{"private, not the owner", "/api/campaigns/" + testkit.JSON(hidden["id"]) + "/updates", bob, `{"title":"x","content":"y"}`, 404},
		{"no such campaign", "/api/campaigns/999999/updates", ada, `{"title":"x","content":"y"}`, 404},
		{"no token", base + "/updates", "", `{"title":"x","content":"y"}`, 401},
		{"empty content", base + "/updates", ada, `{"title":"x","content":" "}`, 400},
		{"image not a URL", base + "/updates", ada, `{"title":"x","content":"y","image":"javascript:alert(1)"}`, 400},
		{"no version", base + "/releases", ada, `{"title":"x","version":"","notes":""}`, 400},
		{"release, no token", base + "/releases", "", `{"title":"x","version":"1","notes":""}`, 401},
		{"release, no such campaign", "/api/campaigns/999999/releases", ada, `{"title":"x","version":"1","notes":""}`, 404},
	} {
		if status, p := do("POST", tc.path, tc.tok, tc.body); status != tc.status || p["status"] != float64(tc.status) {
			t.Errorf("%s: %d %v, want %d problem JSON", tc.name, status, p, tc.status)
		}
	}
	var updates, releases int
	_ = pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE event_type = 'update'), count(*) FILTER (WHERE event_type = 'release') FROM outbox`).Scan(&updates, &releases)
	if updates != 2 || releases != 1 {
		t.Fatalf("outbox holds %d update and %d release events, want 2 and 1", updates, releases)
	}
}
