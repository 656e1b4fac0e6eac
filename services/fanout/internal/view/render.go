package view

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/pkg/event"
)

// TypeCampaignData is the browser message that carries a whole view.
const TypeCampaignData = "campaign_data"

// Data is the `data` of a campaign_data frame (DESIGN.md §2): the campaign's
// own fields, its totals, and its recent items newest first, each item in
// the shape of pkg/event's XxxData type.
type Data struct {
	ID                int64           `json:"id"`
	Title             string          `json:"title"`
	Description       string          `json:"description"`
	GoalAmount        string          `json:"goal_amount"`
	RaisedAmount      string          `json:"raised_amount"`
	Currency          string          `json:"currency"`
	ContributionCount int64           `json:"contribution_count"`
	Owner             event.User      `json:"owner"`
	Private           bool            `json:"private"`
	CreatedAt         event.Time      `json:"created_at"`
	Updates           json.RawMessage `json:"updates"`
	Releases          json.RawMessage `json:"releases"`
	Milestones        json.RawMessage `json:"milestones"`
	Comments          json.RawMessage `json:"comments"`
	Contributions     json.RawMessage `json:"contributions"`
}

// viewRow is a campaign_view row as read in one statement.
type viewRow struct {
	campaign      []byte // event.CampaignData as JSON; nil until the campaign event
	raised        string // numeric as text, rounded to cents by the query
	count         int64
	updates       []byte
	releases      []byte
	milestones    []byte
	comments      []byte
	contributions []byte
	pos           cursor.Position
}

// render returns the campaign_data frame of r and the campaign's own fields.
// r.campaign must be set.
func render(r viewRow) ([]byte, event.CampaignData, error) {
	var c event.CampaignData
	if err := json.Unmarshal(r.campaign, &c); err != nil {
		return nil, c, fmt.Errorf("decode campaign %s: %w", r.campaign, err)
	}
	d := Data{
		ID: c.ID, Title: c.Title, Description: c.Description, GoalAmount: c.GoalAmount,
		RaisedAmount: r.raised, Currency: c.Currency, ContributionCount: r.count,
		Owner: c.Owner, Private: c.Private, CreatedAt: c.CreatedAt,
		Updates: list(r.updates), Releases: list(r.releases), Milestones: list(r.milestones),
		Comments: list(r.comments), Contributions: list(r.contributions),
	}
	b, err := json.Marshal(event.Message{Type: TypeCampaignData, Data: d, Cursor: cursor.Encode(r.pos)})
	if err != nil {
		return nil, c, fmt.Errorf("render campaign_data: %w", err)
	}
	return b, c, nil
}

func list(b []byte) json.RawMessage {
	if len(bytes.TrimSpace(b)) == 0 {
		return json.RawMessage("[]")
	}
	return b
}

// prepend returns the JSON array list with item first, keeping at most n
// items. With replaceID set, an item with the same "id" is replaced where it
// stands instead (a milestone that went from pending to reached).
func prepend(list, item []byte, n int, replaceID bool) ([]byte, error) {
	var items []json.RawMessage
	if len(bytes.TrimSpace(list)) > 0 {
		if err := json.Unmarshal(list, &items); err != nil {
			return nil, fmt.Errorf("decode recent list: %w", err)
		}
	}
	replaced := false
	if replaceID {
		id, err := itemID(item)
		if err != nil {
			return nil, err
		}
		for i, old := range items {
			if oldID, err := itemID(old); err == nil && oldID == id {
				items[i], replaced = item, true
				break
			}
		}
	}
	if !replaced {
		items = append([]json.RawMessage{item}, items...)
	}
	if len(items) > n {
		items = items[:n]
	}
	var b bytes.Buffer
	b.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(it)
	}
	b.WriteByte(']')
	return b.Bytes(), nil
}

func itemID(item []byte) (int64, error) {
	var probe struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(item, &probe); err != nil {
		return 0, fmt.Errorf("decode item id: %w", err)
	}
	return probe.ID, nil
}
