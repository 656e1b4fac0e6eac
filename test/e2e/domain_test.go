//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
)

// view is the campaign_data payload.
type view struct {
	ID                int64             `json:"id"`
	Title             string            `json:"title"`
	Description       string            `json:"description"`
	GoalAmount        string            `json:"goal_amount"`
	RaisedAmount      string            `json:"raised_amount"`
	Currency          string            `json:"currency"`
	ContributionCount int64             `json:"contribution_count"`
	Owner             user              `json:"owner"`
	Updates           []json.RawMessage `json:"updates"`
	Releases          []json.RawMessage `json:"releases"`
	Milestones        []map[string]any  `json:"milestones"`
	Comments          []json.RawMessage `json:"comments"`
	Contributions     []json.RawMessage `json:"contributions"`
}

// shapes lists the keys each message type's data has (DESIGN.md §2).
var shapes = map[string][]string{
	"contribution": {"amount", "campaign", "created_at", "currency", "id", "user"},
	"update":       {"campaign", "content", "created_at", "id", "image", "title"},
	"comment":      {"campaign", "content", "created_at", "id", "user"},
	"release":      {"campaign", "created_at", "id", "notes", "title", "version"},
	"milestone":    {"campaign", "created_at", "id", "reached_at", "status", "target_amount", "title"},
}

func keys(raw json.RawMessage) []string {
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// TestEveryMessageType: several watchers each receive one write of every
// type, in the order written, in the documented shape; a later watcher's
// snapshot has the totals and the lists.
func TestEveryMessageType(t *testing.T) {
	owner := token(t, 4001, "olive")
	backer := token(t, 4002, "bram")
	c := createCampaign(t, owner, "Every type")
	waitLive(t, c.ID)
	base := fmt.Sprintf("/api/campaigns/%d", c.ID)

	watchers := make([]*watcher, 3)
	for i := range watchers {
		watchers[i] = watch(t, c.ID, "")
		if m := watchers[i].next(); m.Type != "campaign_data" {
			t.Fatalf("watcher %d: first message %q", i, m.Type)
		}
	}

	type write struct {
		path, tok string
		body      any
		typ       string
	}
	writes := []write{
		{base + "/milestones", owner, map[string]any{"title": "First 100", "target_amount": "100.00"}, "milestone"},
		{base + "/updates", owner, map[string]any{"title": "Week 1", "content": "We started."}, "update"},
		{base + "/comments", backer, map[string]any{"content": "Good luck!"}, "comment"},
		{base + "/releases", owner, map[string]any{"title": "Beta", "version": "0.9", "notes": "First build"}, "release"},
		{base + "/contributions", backer, map[string]any{"amount": "60.00", "currency": "USD"}, "contribution"},
	}
	for _, w := range writes {
		var out map[string]any
		if status := call(t, "POST", w.path, w.tok, w.body, &out); status != http.StatusCreated {
			t.Fatalf("POST %s: %d %v", w.path, status, out)
		}
	}

	// Every watcher receives every write once, all in the same order (the
	// campaign's order in the topic), with growing cursors. Writes through
	// one service keep their order; writes through different services are
	// ordered by when their relays published them.
	var first []string
	for i, w := range watchers {
		last := ""
		var order, types []string
		for range writes {
			m := w.next()
			if want, ok := shapes[m.Type]; !ok {
				t.Fatalf("watcher %d: unexpected %q message", i, m.Type)
			} else if got := keys(m.Data); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("watcher %d: %s data has keys %v, want %v", i, m.Type, got, want)
			}
			if !(m.Cursor > last) || m.EventID == "" {
				t.Errorf("watcher %d: %s cursor %q after %q, event_id %q", i, m.Type, m.Cursor, last, m.EventID)
			}
			last = m.Cursor
			order = append(order, m.EventID)
			types = append(types, m.Type)
		}
		sorted := append([]string(nil), types...)
		sort.Strings(sorted)
		if fmt.Sprint(sorted) != "[comment contribution milestone release update]" {
			t.Fatalf("watcher %d received %v, want one of each type", i, types)
		}
		if indexOf(types, "update") > indexOf(types, "release") {
			t.Errorf("watcher %d: %v has the release before the update posted first through the same service", i, types)
		}
		if i == 0 {
			first = order
		} else if fmt.Sprint(order) != fmt.Sprint(first) {
			t.Errorf("watcher %d received %v, watcher 0 %v: want the same order", i, order, first)
		}
	}

	// A second contribution crosses the milestone: exactly one "reached".
	if status := call(t, "POST", base+"/contributions", backer, map[string]any{"amount": "40.00", "currency": "USD"}, nil); status != http.StatusCreated {
		t.Fatalf("second contribution: %d", status)
	}
	for i, w := range watchers {
		if m := w.next(); m.Type != "contribution" {
			t.Fatalf("watcher %d: got %q, want the second contribution", i, m.Type)
		}
		m := w.next()
		var ms map[string]any
		_ = json.Unmarshal(m.Data, &ms)
		if m.Type != "milestone" || ms["status"] != "reached" || ms["reached_at"] == nil {
			t.Fatalf("watcher %d: got %s %s, want the milestone reached", i, m.Type, m.Data)
		}
		w.send(map[string]string{"type": "ping"})
		if m := w.next(); m.Type != "pong" {
			t.Fatalf("watcher %d: %q after the milestone, want nothing more (then our pong)", i, m.Type)
		}
	}

	// A later watcher's snapshot holds everything.
	late := watch(t, c.ID, "")
	m := late.next()
	var v view
	if err := json.Unmarshal(m.Data, &v); err != nil || m.Type != "campaign_data" {
		t.Fatalf("late watcher: %s %v", m.Type, err)
	}
	if v.RaisedAmount != "100.00" || v.ContributionCount != 2 || len(v.Updates) != 1 || len(v.Releases) != 1 ||
		len(v.Comments) != 1 || len(v.Contributions) != 2 || len(v.Milestones) != 1 || v.Milestones[0]["status"] != "reached" {
		t.Fatalf("late snapshot: raised %s count %d updates %d releases %d comments %d contributions %d milestones %v",
			v.RaisedAmount, v.ContributionCount, len(v.Updates), len(v.Releases), len(v.Comments), len(v.Contributions), v.Milestones)
	}
}

// TestMilestoneSurvivesRestart: contributions that cross a target while the
// milestone service is down are counted when it comes back, and the
// milestone is reached exactly once.
func TestMilestoneSurvivesRestart(t *testing.T) {
	owner := token(t, 5001, "mila")
	backer := token(t, 5002, "ben")
	c := createCampaign(t, owner, "Restart")
	waitLive(t, c.ID)
	base := fmt.Sprintf("/api/campaigns/%d", c.ID)
	var ms map[string]any
	if status := call(t, "POST", base+"/milestones", owner, map[string]any{"title": "Half", "target_amount": "50.00"}, &ms); status != http.StatusCreated {
		t.Fatalf("create milestone: %d %v", status, ms)
	}
	w := watch(t, c.ID, "")
	if m := w.next(); m.Type != "campaign_data" {
		t.Fatalf("first message %q", m.Type)
	}
	contribute := func(amount string) {
		t.Helper()
		if status := call(t, "POST", base+"/contributions", backer, map[string]any{"amount": amount, "currency": "USD"}, nil); status != http.StatusCreated {
			t.Fatalf("contribute %s: %d", amount, status)
		}
	}
	contribute("30.00")
	runScript(t, "stop", "milestone")
	contribute("30.00") // crosses 50 while the milestone service is down
	contribute("30.00")
	runScript(t, "restart", "milestone")

	// Three contributions and the milestone reached, in some order (and,
	// if it had not arrived before we connected, the milestone's creation).
	var reached, contributions int
	for contributions < 3 || reached < 1 {
		m := w.next()
		switch m.Type {
		case "contribution":
			contributions++
		case "milestone":
			var d map[string]any
			_ = json.Unmarshal(m.Data, &d)
			if d["id"] != ms["id"] {
				t.Fatalf("milestone message %s", m.Data)
			}
			if d["status"] == "reached" {
				reached++
			}
		default:
			t.Fatalf("unexpected %q message", m.Type)
		}
	}
	w.send(map[string]string{"type": "ping"})
	if m := w.next(); m.Type != "pong" || reached != 1 {
		t.Fatalf("reached %d times, then %q; want exactly once, then our pong", reached, m.Type)
	}
}

// runScript runs scripts/run.sh with args, to stop and start a service.
func runScript(t *testing.T, args ...string) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	cmd := exec.Command("bash", append([]string{filepath.Join(root, "scripts", "run.sh")}, args...)...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("run.sh %v: %v\n%s", args, err, out)
	}
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}
