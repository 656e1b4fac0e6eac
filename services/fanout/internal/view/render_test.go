package view

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/pkg/event"
)

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRenderShape pins the campaign_data frame: the field order of the
// seed, money as strings, and items in their event shapes.
func TestRenderShape(t *testing.T) {
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	campaign := mustJSON(t, event.CampaignData{
		ID: 42, Title: "Solar", Description: "Panels", GoalAmount: "1000.00", Currency: "USD",
		Owner: event.User{ID: 3, Username: "ada"}, CreatedAt: event.Time{Time: at},
	})
	contribution := mustJSON(t, event.ContributionData{
		ID: 7, Campaign: 42, User: event.User{ID: 5, Username: "bob"}, Amount: "125.50", Currency: "USD",
		CreatedAt: event.Time{Time: at},
	})
	pos := cursor.Position{Epoch: 1, Partition: 3, Offset: 9}
	frame, c, err := render(viewRow{
		campaign: campaign, raised: "125.50", count: 1,
		contributions: []byte("[" + string(contribution) + "]"),
		updates:       []byte("[]"),
		pos:           pos,
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != 42 || c.Owner.ID != 3 {
		t.Fatalf("render returned campaign %+v", c)
	}
	want := `{"type":"campaign_data","data":{"id":42,"title":"Solar","description":"Panels",` +
		`"goal_amount":"1000.00","raised_amount":"125.50","currency":"USD","contribution_count":1,` +
		`"owner":{"id":3,"username":"ada"},"private":false,"created_at":"2026-11-25T12:00:00.000000Z",` +
		`"updates":[],"releases":[],"milestones":[],"comments":[],` +
		`"contributions":[{"id":7,"campaign":42,"user":{"id":5,"username":"bob"},"amount":"125.50",` +
		`"currency":"USD","created_at":"2026-11-25T12:00:00.000000Z"}]},` +
		`"cursor":"` + cursor.Encode(pos) + `"}`
	if string(frame) != want {
		t.Fatalf("frame\n got %s\nwant %s", frame, want)
	}
}

func TestRenderRejectsBadRow(t *testing.T) {
	if _, _, err := render(viewRow{campaign: []byte("{"), raised: "0.00"}); err == nil {
		t.Error("render of a broken campaign = nil error")
	}
}

func item(id int64, status string) []byte {
	return []byte(`{"id":` + strconv.FormatInt(id, 10) + `,"status":"` + status + `"}`)
}

func TestPrepend(t *testing.T) {
	tests := []struct {
		name      string
		list      string
		item      []byte
		n         int
		replaceID bool
		want      string
	}{
		{"into empty", `[]`, item(1, "a"), 3, false, `[{"id":1,"status":"a"}]`},
		{"into nothing", ``, item(1, "a"), 3, false, `[{"id":1,"status":"a"}]`},
		{"newest first", `[{"id":1,"status":"a"}]`, item(2, "a"), 3, false,
			`[{"id":2,"status":"a"},{"id":1,"status":"a"}]`},
		{"keeps n", `[{"id":2,"status":"a"},{"id":1,"status":"a"}]`, item(3, "a"), 2, false,
			`[{"id":3,"status":"a"},{"id":2,"status":"a"}]`},
		{"replaces in place", `[{"id":2,"status":"pending"},{"id":1,"status":"pending"}]`, item(1, "reached"), 5, true,
			`[{"id":2,"status":"pending"},{"id":1,"status":"reached"}]`},
		{"replace falls back to prepend", `[{"id":2,"status":"pending"}]`, item(9, "reached"), 5, true,
			`[{"id":9,"status":"reached"},{"id":2,"status":"pending"}]`},
		{"same id without replace is a new item", `[{"id":1,"status":"a"}]`, item(1, "b"), 5, false,
			`[{"id":1,"status":"b"},{"id":1,"status":"a"}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := prepend([]byte(tc.list), tc.item, tc.n, tc.replaceID)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}
