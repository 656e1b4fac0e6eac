package event

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
)

var at = time.Date(2026, 11, 25, 12, 30, 45, 123456789, time.UTC)

func contribution() *campaignv1.Contribution {
	return &campaignv1.Contribution{
		Id: 7, CampaignId: 42, User: &campaignv1.User{Id: 3, Username: "ada"},
		Amount: "25.50", Currency: "USD", CreatedAt: timestamppb.New(at),
	}
}

func TestRoundTrip(t *testing.T) {
	e, err := New("contribution", 42, at, contribution())
	if err != nil {
		t.Fatal(err)
	}
	if e.GetType() != TypeContribution || len(e.GetId()) != 36 {
		t.Fatalf("New gave type %q id %q", e.GetType(), e.GetId())
	}
	b, err := Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetId() != e.GetId() || got.GetContribution().GetAmount() != "25.50" {
		t.Fatalf("round trip lost data: got %v", got)
	}
}

func TestUnmarshalRejects(t *testing.T) {
	good, _ := New("contribution", 42, at, contribution())
	tests := map[string]func(e *campaignv1.Event){
		"no id":             func(e *campaignv1.Event) { e.Id = "" },
		"no campaign":       func(e *campaignv1.Event) { e.CampaignId = 0 },
		"no time":           func(e *campaignv1.Event) { e.OccurredAt = nil },
		"type mismatch":     func(e *campaignv1.Event) { e.Type = TypeComment },
		"no payload":        func(e *campaignv1.Event) { e.Payload = nil },
		"negative campaign": func(e *campaignv1.Event) { e.CampaignId = -1 },
	}
	for name, breakIt := range tests {
		t.Run(name, func(t *testing.T) {
			e := protoClone(good)
			breakIt(e)
			b, _ := Marshal(e)
			if _, err := Unmarshal(b); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Unmarshal = %v, want ErrInvalid", err)
			}
		})
	}
	if _, err := Unmarshal([]byte{0xff, 0xff, 0xff}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Unmarshal(garbage) = %v, want ErrInvalid", err)
	}
}

func protoClone(e *campaignv1.Event) *campaignv1.Event {
	return proto.Clone(e).(*campaignv1.Event)
}

// TestFrameShape pins the seed's contribution message, which existing
// browser clients parse.
func TestFrameShape(t *testing.T) {
	e, _ := New("contribution", 42, at, contribution())
	b, err := Frame(e, "0000000100030000000000000009")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"type":     "contribution",
		"cursor":   "0000000100030000000000000009",
		"event_id": e.GetId(),
		"data": map[string]any{
			"id": 7.0, "campaign": 42.0, "user": map[string]any{"id": 3.0, "username": "ada"},
			"amount": "25.50", "currency": "USD", "created_at": "2026-11-25T12:30:45.123456Z",
		},
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Fatalf("frame\n got %s\nwant %s", gotJSON, wantJSON)
	}
}

func TestNullableFields(t *testing.T) {
	u, _ := json.Marshal(UpdateFromPB(&campaignv1.Update{Id: 1, CampaignId: 2, Title: "t"}))
	m, _ := json.Marshal(MilestoneFromPB(&campaignv1.Milestone{Id: 1, CampaignId: 2, Status: "pending", TargetAmount: "10.00"}))
	for _, tc := range []struct{ json, field string }{{string(u), `"image":null`}, {string(m), `"reached_at":null`}} {
		if !strings.Contains(tc.json, tc.field) {
			t.Errorf("%s lacks %s", tc.json, tc.field)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	e, _ := New("contribution", 42, at, contribution())
	b, _ := Marshal(e)
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Unmarshal(b)
		if err != nil {
			return
		}
		if _, err := Frame(e, "c"); err != nil {
			t.Fatalf("valid event %v does not render: %v", e, err)
		}
	})
}
