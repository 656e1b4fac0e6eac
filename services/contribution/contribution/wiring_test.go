//go:build integration

package contribution_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/outbox"
	"github.com/campaign-live/campaign-live/pkg/testkit"
	"github.com/campaign-live/campaign-live/pkg/writesvc"
	"github.com/campaign-live/campaign-live/services/contribution/contribution"
)

// TestWiring drives the real handler over a real database: a contribution
// and its event are committed together, money stays exact, and refused
// requests leave nothing behind.
func TestWiring(t *testing.T) {
	secret := []byte("wiring-secret")
	pool, _ := testkit.DB(t, outbox.Migrations(), contribution.Migrations())
	v, _ := auth.NewHS256(secret)
	h, err := contribution.NewHandler(context.Background(), writesvc.Deps{Pool: pool, Verifier: v, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	api := testkit.Serve(t, h)
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
}
