package view

import (
	"bytes"
	"encoding/json"
	"errors"
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
//
// Without replaceID the list is not decoded: its first n-1 items are found
// by their commas and copied as they are. Decoding the whole list on every
// event was 15% of fanout's CPU (docs/performance.md). The lists come from
// a json column, which Postgres has checked, and go back into one.
func prepend(list, item []byte, n int, replaceID bool) ([]byte, error) {
	if replaceID {
		return replaceOrPrepend(list, item, n)
	}
	kept, err := leadingItems(list, n-1)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(item)+len(kept)+3)
	out = append(append(out, '['), item...)
	if len(kept) > 0 {
		out = append(append(out, ','), kept...)
	}
	return append(out, ']'), nil
}

// leadingItems returns the first k items of the JSON array list as they
// are written there, with the commas between them and without the
// brackets; nil for an empty or blank list.
func leadingItems(list []byte, k int) ([]byte, error) {
	list = bytes.TrimSpace(list)
	if len(list) == 0 {
		return nil, nil
	}
	if len(list) < 2 || list[0] != '[' || list[len(list)-1] != ']' {
		return nil, errors.New("decode recent list: not a JSON array")
	}
	body := list[1 : len(list)-1]
	if k <= 0 {
		return nil, nil
	}
	depth, inString, escaped, items := 0, false, false, 0
	for i, b := range body {
		switch {
		case escaped:
			escaped = false
		case inString:
			switch b {
			case '\\':
				escaped = true
			case '"':
				inString = false
			}
		case b == '"':
			inString = true
		case b == '{' || b == '[':
			depth++
		case b == '}' || b == ']':
			depth--
		case b == ',' && depth == 0:
			if items++; items == k {
				return bytes.TrimSpace(body[:i]), nil
			}
		}
	}
	return bytes.TrimSpace(body), nil
}

// replaceOrPrepend is prepend with replaceID: the list is decoded to find
// the item's id. Only milestones take this path, a few times a campaign.
func replaceOrPrepend(list, item []byte, n int) ([]byte, error) {
	var items []json.RawMessage
	if len(bytes.TrimSpace(list)) > 0 {
		if err := json.Unmarshal(list, &items); err != nil {
			return nil, fmt.Errorf("decode recent list: %w", err)
		}
	}
	id, err := itemID(item)
	if err != nil {
		return nil, err
	}
	replaced := false
	for i, old := range items {
		if oldID, err := itemID(old); err == nil && oldID == id {
			items[i], replaced = item, true
			break
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
