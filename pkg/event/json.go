package event

import (
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
)

// Time is a timestamp that marshals as RFC 3339 in UTC with microseconds,
// the precision Postgres keeps, or as null when zero.
type Time struct{ time.Time }

// TimeLayout is how Time marshals.
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	b := make([]byte, 0, len(TimeLayout)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, TimeLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	t.Time = v.UTC()
	return nil
}

func pbTime(ts *timestamppb.Timestamp) Time {
	if ts == nil {
		return Time{}
	}
	return Time{ts.AsTime().UTC()}
}

// User is who did something.
type User struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

// CampaignData is a campaign's own fields. The live view adds totals and
// recent lists around it.
type CampaignData struct {
	ID          int64  `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	GoalAmount  string `json:"goal_amount"`
	Currency    string `json:"currency"`
	Owner       User   `json:"owner"`
	Private     bool   `json:"private"`
	CreatedAt   Time   `json:"created_at"`
}

// ContributionData is a contribution as browsers see it.
type ContributionData struct {
	ID        int64  `json:"id"`
	Campaign  int64  `json:"campaign"`
	User      User   `json:"user"`
	Amount    string `json:"amount"`
	Currency  string `json:"currency"`
	CreatedAt Time   `json:"created_at"`
}

// UpdateData is a campaign update as browsers see it.
type UpdateData struct {
	ID        int64   `json:"id"`
	Campaign  int64   `json:"campaign"`
	Title     string  `json:"title"`
	Content   string  `json:"content"`
	Image     *string `json:"image"`
	CreatedAt Time    `json:"created_at"`
}

// CommentData is a comment as browsers see it.
type CommentData struct {
	ID        int64  `json:"id"`
	Campaign  int64  `json:"campaign"`
	User      User   `json:"user"`
	Content   string `json:"content"`
	CreatedAt Time   `json:"created_at"`
}

// ReleaseData is a release as browsers see it.
type ReleaseData struct {
	ID        int64  `json:"id"`
	Campaign  int64  `json:"campaign"`
	Title     string `json:"title"`
	Version   string `json:"version"`
	Notes     string `json:"notes"`
	CreatedAt Time   `json:"created_at"`
}

// MilestoneData is a milestone as browsers see it.
type MilestoneData struct {
	ID           int64  `json:"id"`
	Campaign     int64  `json:"campaign"`
	Title        string `json:"title"`
	TargetAmount string `json:"target_amount"`
	Status       string `json:"status"`
	ReachedAt    Time   `json:"reached_at"`
	CreatedAt    Time   `json:"created_at"`
}

func user(u *campaignv1.User) User { return User{ID: u.GetId(), Username: u.GetUsername()} }

// CampaignFromPB converts a campaign payload.
func CampaignFromPB(c *campaignv1.Campaign) CampaignData {
	return CampaignData{
		ID: c.GetId(), Title: c.GetTitle(), Description: c.GetDescription(),
		GoalAmount: c.GetGoalAmount(), Currency: c.GetCurrency(), Owner: user(c.GetOwner()),
		Private: c.GetPrivate(), CreatedAt: pbTime(c.GetCreatedAt()),
	}
}

// ContributionFromPB converts a contribution payload.
func ContributionFromPB(c *campaignv1.Contribution) ContributionData {
	return ContributionData{
		ID: c.GetId(), Campaign: c.GetCampaignId(), User: user(c.GetUser()),
		Amount: c.GetAmount(), Currency: c.GetCurrency(), CreatedAt: pbTime(c.GetCreatedAt()),
	}
}

// UpdateFromPB converts an update payload; an empty image is null.
func UpdateFromPB(u *campaignv1.Update) UpdateData {
	d := UpdateData{
		ID: u.GetId(), Campaign: u.GetCampaignId(), Title: u.GetTitle(),
		Content: u.GetContent(), CreatedAt: pbTime(u.GetCreatedAt()),
	}
	if img := u.GetImage(); img != "" {
		d.Image = &img
	}
	return d
}

// CommentFromPB converts a comment payload.
func CommentFromPB(c *campaignv1.Comment) CommentData {
	return CommentData{
		ID: c.GetId(), Campaign: c.GetCampaignId(), User: user(c.GetUser()),
		Content: c.GetContent(), CreatedAt: pbTime(c.GetCreatedAt()),
	}
}

// ReleaseFromPB converts a release payload.
func ReleaseFromPB(r *campaignv1.Release) ReleaseData {
	return ReleaseData{
		ID: r.GetId(), Campaign: r.GetCampaignId(), Title: r.GetTitle(),
		Version: r.GetVersion(), Notes: r.GetNotes(), CreatedAt: pbTime(r.GetCreatedAt()),
	}
}

// MilestoneFromPB converts a milestone payload.
func MilestoneFromPB(m *campaignv1.Milestone) MilestoneData {
	return MilestoneData{
		ID: m.GetId(), Campaign: m.GetCampaignId(), Title: m.GetTitle(),
		TargetAmount: m.GetTargetAmount(), Status: m.GetStatus(),
		ReachedAt: pbTime(m.GetReachedAt()), CreatedAt: pbTime(m.GetCreatedAt()),
	}
}

// Data returns the browser-facing data of e's payload.
func Data(e *campaignv1.Event) (any, error) {
	switch p := e.GetPayload().(type) {
	case *campaignv1.Event_Campaign:
		return CampaignFromPB(p.Campaign), nil
	case *campaignv1.Event_Contribution:
		return ContributionFromPB(p.Contribution), nil
	case *campaignv1.Event_Update:
		return UpdateFromPB(p.Update), nil
	case *campaignv1.Event_Comment:
		return CommentFromPB(p.Comment), nil
	case *campaignv1.Event_Release:
		return ReleaseFromPB(p.Release), nil
	case *campaignv1.Event_Milestone:
		return MilestoneFromPB(p.Milestone), nil
	}
	return nil, fmt.Errorf("%w: no payload", ErrInvalid)
}

// Message is one server-to-client WebSocket message.
type Message struct {
	Type    string `json:"type"`
	Data    any    `json:"data,omitempty"`
	Cursor  string `json:"cursor,omitempty"`
	EventID string `json:"event_id,omitempty"`
}

// Frame renders e as the browser's text frame:
// {"type":...,"data":{...},"cursor":...,"event_id":...}.
func Frame(e *campaignv1.Event, cursor string) ([]byte, error) {
	data, err := Data(e)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(Message{Type: e.GetType(), Data: data, Cursor: cursor, EventID: e.GetId()})
	if err != nil {
		return nil, fmt.Errorf("render %s event: %w", e.GetType(), err)
	}
	return b, nil
}
