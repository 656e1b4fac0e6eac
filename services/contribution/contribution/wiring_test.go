//go:build integration

package contribution_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/outbox"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/pkg/replica"
	"github.com/campaign-live/campaign-live/pkg/testkit"
	"github.com/campaign-live/campaign-live/pkg/writesvc"
	"github.com/campaign-live/campaign-live/services/contribution/contribution"
)

// TestAPI drives the real handler over a real database, holding every
// exchange to openapi.yaml.
func TestAPI(t *testing.T) {
	contract := testkit.LoadContract(t, "../openapi.yaml")
	t.Run("contribute", func(t *testing.T) { testContribute(t, contract) })
	t.Run("idempotency key", func(t *testing.T) { testIdempotencyKey(t, contract) })
}

// testContribute: a contribution and its event are committed together,
// money stays exact, and refused requests leave nothing behind.
func testContribute(t *testing.T, contract *testkit.Contract) {
	secret := []byte("wiring-secret")
	pool, _ := testkit.DB(t, outbox.Migrations(), replica.Migrations(), contribution.Migrations())
	testkit.SeedCampaign(t, pool, &campaignv1.Campaign{Id: 42, Currency: "USD", Owner: &campaignv1.User{Id: 1, Username: "owner"}})
	testkit.SeedCampaign(t, pool, &campaignv1.Campaign{Id: 43, Currency: "EUR", Private: true, Owner: &campaignv1.User{Id: 1, Username: "owner"}})
	v, _ := auth.NewHS256(secret)
	h, err := contribution.NewHandler(context.Background(), writesvc.Deps{Pool: pool, Verifier: v,
		Log: slog.New(slog.DiscardHandler), Campaigns: replica.NewLookup(pool, 100*time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	api := testkit.Serve(t, h).WithContract(contract)
	post := func(path, tok, body string) (int, map[string]any) { return api.Do("POST", path, tok, body) }
	grace, _ := auth.Mint(secret, auth.User{ID: 22, Username: "grace"}, time.Minute)

	status, c := post("/api/campaigns/42/contributions", grace, `{"amount":"0.1","currency":"USD"}`)
	want := map[string]any{"campaign": 42.0, "amount": "0.10", "currency": "USD", "user": map[string]any{"id": 22.0, "username": "grace"}}
	for k, v := range want {
		if b1, b2 := testkit.JSON(c[k]), testkit.JSON(v); status != 201 || b1 != b2 {
			t.Fatalf("contribute: %d, %s = %s, want %s", status, k, b1, b2)
		}
	}
	var payload []byte
	if err := pool.QueryRow(context.Background(), `SELECT payload FROM outbox`).Scan(&payload); err != nil {
		t.Fatalf("no outbox row: %v", err)
	}
	e, err := event.Unmarshal(payload)
	if err != nil || e.GetCampaignId() != 42 || e.GetContribution().GetAmount() != "0.10" ||
		e.GetContribution().GetId() != int64(c["id"].(float64)) {
		t.Fatalf("outbox event %v, %v does not describe %v", e, err, c)
	}

	for _, tc := range []struct {
		name, path, tok, body string
		status                int
	}{
		{"no token", "/api/campaigns/42/contributions", "", `{"amount":"1","currency":"USD"}`, 401},
		{"negative", "/api/campaigns/42/contributions", grace, `{"amount":"-1","currency":"USD"}`, 400},
		{"too precise", "/api/campaigns/42/contributions", grace, `{"amount":"1.001","currency":"USD"}`, 400},
		{"too large", "/api/campaigns/42/contributions", grace, `{"amount":"1000000000.01","currency":"USD"}`, 400},
		{"no currency", "/api/campaigns/42/contributions", grace, `{"amount":"1"}`, 400},
		{"bad id", "/api/campaigns/4x/contributions", grace, `{"amount":"1","currency":"USD"}`, 400},
		{"zero id", "/api/campaigns/0/contributions", grace, `{"amount":"1","currency":"USD"}`, 400},
		{"no such campaign", "/api/campaigns/41/contributions", grace, `{"amount":"1","currency":"USD"}`, 404},
		{"newer than any campaign", "/api/campaigns/99/contributions", grace, `{"amount":"1","currency":"USD"}`, 404},
		{"private campaign", "/api/campaigns/43/contributions", grace, `{"amount":"1","currency":"EUR"}`, 404},
		{"other currency", "/api/campaigns/42/contributions", grace, `{"amount":"1","currency":"EUR"}`, 400},
	} {
		if status, p := post(tc.path, tc.tok, tc.body); status != tc.status || p["status"] != float64(tc.status) {
			t.Errorf("%s: %d %v, want %d problem JSON", tc.name, status, p, tc.status)
		}
	}
	var rows, events int
	_ = pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM contributions), (SELECT count(*) FROM outbox)`).Scan(&rows, &events)
	if rows != 1 || events != 1 {
		t.Fatalf("%d contributions and %d events after the refusals, want 1 and 1", rows, events)
	}

	// The owner may contribute to a private campaign.
	owner, _ := auth.Mint(secret, auth.User{ID: 1, Username: "owner"}, time.Minute)
	if status, p := post("/api/campaigns/43/contributions", owner, `{"amount":"5","currency":"EUR"}`); status != 201 {
		t.Fatalf("owner contributes to a private campaign: %d %v", status, p)
	}

	// A campaign the replica learns of while the request waits for it. The
	// wait is a handler's of its own, long enough for the seed to land on
	// a busy machine; the one above is short so that the 404s are quick.
	waiting, err := contribution.NewHandler(context.Background(), writesvc.Deps{Pool: pool, Verifier: v,
		Log: slog.New(slog.DiscardHandler), Campaigns: replica.NewLookup(pool, 30*time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	arrived := make(chan struct{})
	go func() {
		defer close(arrived)
		time.Sleep(30 * time.Millisecond)
		testkit.SeedCampaign(t, pool, &campaignv1.Campaign{Id: 60, Currency: "USD", Owner: &campaignv1.User{Id: 1, Username: "owner"}})
	}()
	status, p := testkit.Serve(t, waiting).WithContract(contract).Do("POST", "/api/campaigns/60/contributions", grace, `{"amount":"2","currency":"USD"}`)
	<-arrived
	if status != 201 || p["campaign"] != 60.0 {
		t.Fatalf("contribute to a campaign arriving in the replica: %d %v, want 201", status, p)
	}
}

// testIdempotencyKey: a retried request with the same key gets the first
// contribution back and emits no second event; reusing the key for another
// contribution is a conflict.
func testIdempotencyKey(t *testing.T, contract *testkit.Contract) {
	secret := []byte("wiring-secret")
	pool, _ := testkit.DB(t, outbox.Migrations(), replica.Migrations(), contribution.Migrations())
	testkit.SeedCampaign(t, pool, &campaignv1.Campaign{Id: 42, Currency: "USD", Owner: &campaignv1.User{Id: 1, Username: "owner"}})
	v, _ := auth.NewHS256(secret)
	h, _ := contribution.NewHandler(context.Background(), writesvc.Deps{Pool: pool, Verifier: v,
		Log: slog.New(slog.DiscardHandler), Campaigns: replica.NewLookup(pool, 100*time.Millisecond)})
	api := testkit.Serve(t, h).WithContract(contract)
	grace, _ := auth.Mint(secret, auth.User{ID: 22, Username: "grace"}, time.Minute)
	alan, _ := auth.Mint(secret, auth.User{ID: 23, Username: "alan"}, time.Minute)
	key := http.Header{"Idempotency-Key": {"order-1"}}
	path := "/api/campaigns/42/contributions"

	s1, first := api.DoHeader("POST", path, grace, `{"amount":"10","currency":"USD"}`, key)
	s2, again := api.DoHeader("POST", path, grace, `{"amount":"10.00","currency":"USD"}`, key)
	if s1 != 201 || s2 != 201 || testkit.JSON(first) != testkit.JSON(again) {
		t.Fatalf("retry: %d %v then %d %v, want the same contribution twice", s1, first, s2, again)
	}
	if s, p := api.DoHeader("POST", path, grace, `{"amount":"11","currency":"USD"}`, key); s != 409 {
		t.Fatalf("same key, other amount: %d %v, want 409", s, p)
	}
	if s, other := api.DoHeader("POST", path, alan, `{"amount":"10","currency":"USD"}`, key); s != 201 || other["id"] == first["id"] {
		t.Fatalf("another user's same key: %d %v, want a contribution of its own", s, other)
	}
	if s, p := api.DoHeader("POST", path, grace, `{"amount":"10","currency":"USD"}`, http.Header{"Idempotency-Key": {"has space"}}); s != 400 {
		t.Fatalf("key with a space: %d %v, want 400", s, p)
	}
	var rows, events int
	_ = pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM contributions), (SELECT count(*) FROM outbox)`).Scan(&rows, &events)
	if rows != 2 || events != 2 {
		t.Fatalf("%d contributions and %d events, want 2 and 2 (one per user)", rows, events)
	}
}
