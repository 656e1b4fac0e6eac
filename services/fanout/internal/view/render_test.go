package view

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
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

// The recent lists as Postgres hands back a json column: items with nested
// objects, strings holding commas, brackets and escaped quotes, and blanks
// between tokens.
func TestPrependKeepsItemsWhole(t *testing.T) {
	list := ` [ {"id":3,"user":{"id":7,"username":"a,b"},"content":"x\"],[{"}` + "\n" +
		` , {"id":2,"content":"\\"} ,{"id":1,"tags":[1,[2,3]]} ] `
	for n, want := range map[int]string{
		1: `[{"id":9}]`,
		2: `[{"id":9},{"id":3,"user":{"id":7,"username":"a,b"},"content":"x\"],[{"}]`,
		3: `[{"id":9},{"id":3,"user":{"id":7,"username":"a,b"},"content":"x\"],[{"}` + "\n" + ` , {"id":2,"content":"\\"}]`,
		9: `[{"id":9},{"id":3,"user":{"id":7,"username":"a,b"},"content":"x\"],[{"}` + "\n" +
			` , {"id":2,"content":"\\"} ,{"id":1,"tags":[1,[2,3]]}]`,
	} {
		got, err := prepend([]byte(list), []byte(`{"id":9}`), n, false)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("n=%d: got %s\nwant %s", n, got, want)
		}
		if !json.Valid(got) {
			t.Errorf("n=%d: %s is not JSON", n, got)
		}
	}
	if _, err := prepend([]byte(`{"id":1}`), []byte(`{"id":9}`), 3, false); err == nil {
		t.Error("prepend into an object: nil error")
	}
}

// FuzzPrepend: for any JSON array, prepend keeps the first n-1 items, each
// exactly as it was, after the new one.
func FuzzPrepend(f *testing.F) {
	f.Add([]byte(`[{"id":1,"s":"a,\"b]"},{"id":2}]`), uint8(2))
	f.Add([]byte(` [ [1,2] , "x,y" , {"a":{"b":[]}} ] `), uint8(3))
	f.Add([]byte(`[]`), uint8(1))
	f.Fuzz(func(t *testing.T, list []byte, n8 uint8) {
		var items []json.RawMessage
		if json.Unmarshal(list, &items) != nil {
			return // the lists come from a json column: always JSON
		}
		n := int(n8%8) + 1
		got, err := prepend(list, []byte(`{"new":true}`), n, false)
		if err != nil {
			t.Fatalf("prepend(%q, %d): %v", list, n, err)
		}
		var out []json.RawMessage
		if err := json.Unmarshal(got, &out); err != nil {
			t.Fatalf("prepend(%q, %d) = %q, not a JSON array: %v", list, n, got, err)
		}
		want := min(len(items), n-1)
		if len(out) != want+1 || string(out[0]) != `{"new":true}` {
			t.Fatalf("prepend(%q, %d) = %q: want the new item and %d kept", list, n, got, want)
		}
		for i := range want {
			if !bytes.Equal(bytes.TrimSpace(out[i+1]), bytes.TrimSpace(items[i])) {
				t.Fatalf("prepend(%q, %d): item %d is %q, was %q", list, n, i, out[i+1], items[i])
			}
		}
	})
}

// BenchmarkPrepend: one contribution into a campaign's recent list of 20,
// as fanout does for every event.
func BenchmarkPrepend(b *testing.B) {
	one := []byte(`{"id":123456,"campaign":4242,"user":{"id":77,"username":"someone"},"amount":"100.00","currency":"USD","created_at":"2026-11-26T04:12:58.123456Z"}`)
	list := []byte("[" + strings.TrimSuffix(strings.Repeat(string(one)+",", 20), ",") + "]")
	b.SetBytes(int64(len(list)))
	for b.Loop() {
		if _, err := prepend(list, one, 20, false); err != nil {
			b.Fatal(err)
		}
	}
}
