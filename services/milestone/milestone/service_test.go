package milestone

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/problem"
	"github.com/campaign-live/campaign-live/pkg/replica"
)

func TestNewMilestoneValidate(t *testing.T) {
	tests := []struct {
		name, title, target string
		field               string // at fault, or "" if valid
		wantTitle           string
		wantTarget          string
	}{
		{"valid", "Kiln fired", "500", "", "Kiln fired", "500.00"},
		{"trimmed", "  Kiln\t", "0.5", "", "Kiln", "0.50"},
		{"title at the limit", strings.Repeat("é", MaxTitle), "1.25", "", strings.Repeat("é", MaxTitle), "1.25"},
		{"largest target", "x", "1000000000", "", "x", "1000000000.00"},
		{"empty title", "", "1", "title", "", ""},
		{"blank title", " \n ", "1", "title", "", ""},
		{"long title", strings.Repeat("é", MaxTitle+1), "1", "title", "", ""},
		{"NUL in title", "a\x00", "1", "title", "", ""},
		{"no target", "x", "", "target_amount", "", ""},
		{"zero target", "x", "0.00", "target_amount", "", ""},
		{"negative target", "x", "-5", "target_amount", "", ""},
		{"three decimals", "x", "1.005", "target_amount", "", ""},
		{"exponent", "x", "1e3", "target_amount", "", ""},
		{"too large", "x", "1000000000.01", "target_amount", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMilestone{Title: tc.title, TargetAmount: tc.target}
			err := m.Validate()
			if tc.field != "" {
				if p := problem.From(err); err == nil || p.Kind != problem.Invalid || p.Field != tc.field {
					t.Fatalf("Validate() = %v, want a 400 naming %q", err, tc.field)
				}
				return
			}
			if err != nil || m.Title != tc.wantTitle || m.TargetAmount != tc.wantTarget {
				t.Fatalf("Validate() = %v with %.20q, %q; want nil with %.20q, %q", err, m.Title, m.TargetAmount, tc.wantTitle, tc.wantTarget)
			}
		})
	}
}

// replicaOf answers lookups from a fixed set of campaigns.
type replicaOf []replica.Campaign

func (r replicaOf) Campaign(_ context.Context, id int64) (replica.Campaign, error) {
	for _, c := range r {
		if c.ID == id {
			return c, nil
		}
	}
	return replica.Campaign{}, replica.ErrCampaignNotFound
}

type store []NewMilestone

func (s *store) CreateMilestone(_ context.Context, m NewMilestone) (event.MilestoneData, error) {
	*s = append(*s, m)
	return event.MilestoneData{ID: int64(len(*s)), Campaign: m.CampaignID, Title: m.Title, TargetAmount: m.TargetAmount, Status: StatusPending}, nil
}

// TestAddMilestoneRules: only the owner adds milestones; others get 403 on a
// public campaign and 404 on a private one, as on a missing one.
func TestAddMilestoneRules(t *testing.T) {
	owner := event.User{ID: 1, Username: "ada"}
	r := replicaOf{{ID: 10, Owner: owner, Currency: "USD"}, {ID: 11, Owner: owner, Currency: "EUR", Private: true}}
	ada, bob := auth.User(owner), auth.User{ID: 2, Username: "bob"}
	tests := map[string]struct {
		by         auth.User
		campaign   int64
		title      string
		wantStatus int // 0: added
	}{
		"owner, public":         {ada, 10, "Half way", 0},
		"owner, private":        {ada, 11, "Half way", 0},
		"other user, public":    {bob, 10, "Half way", 403},
		"other user, private":   {bob, 11, "Half way", 404},
		"no such campaign":      {ada, 12, "Half way", 404},
		"invalid before lookup": {bob, 12, "", 400},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var st store
			got, err := NewService(r, &st).AddMilestone(context.Background(), tc.by,
				NewMilestone{CampaignID: tc.campaign, Title: tc.title, TargetAmount: "10"})
			switch {
			case tc.wantStatus != 0 && (err == nil || problem.StatusOf(err) != tc.wantStatus || len(st) > 0):
				t.Fatalf("AddMilestone = %v (stored %d), want a %d and nothing stored", err, len(st), tc.wantStatus)
			case tc.wantStatus == 0 && (err != nil || len(st) != 1 || got.TargetAmount != "10.00"):
				t.Fatalf("AddMilestone = %+v, %v (stored %d), want the milestone stored", got, err, len(st))
			}
		})
	}
	if _, err := NewService(r, new(store)).AddMilestone(context.Background(), bob,
		NewMilestone{CampaignID: 10, Title: "x", TargetAmount: "1"}); !errors.Is(err, ErrNotOwner) {
		t.Errorf("a non-owner's milestone: %v, want ErrNotOwner", err)
	}
}
