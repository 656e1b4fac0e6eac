package main

import (
	"bytes"
	"encoding/json"
	"errors"
)

// frame is what a watcher needs from one server message.
type frame struct {
	typ      []byte // "contribution", "campaign_data", ...
	id       int64  // data.id
	campaign int64  // data.campaign
	amount   int64  // data.amount in cents: the write's sequence number
	cursor   []byte
}

var (
	keyType     = []byte(`"type":"`)
	keyData     = []byte(`"data":{`)
	keyID       = []byte(`"id":`)
	keyCampaign = []byte(`"campaign":`)
	keyAmount   = []byte(`"amount":"`)
	keyCursor   = []byte(`"cursor":"`)

	typeContribution = []byte("contribution")
	typeCampaignData = []byte("campaign_data")
	typeResumed      = []byte("resumed")
	typeError        = []byte("error")
)

var errFrame = errors.New("unexpected frame")

// parseFrame reads a message without a JSON decoder: the type, and for a
// contribution its id, campaign, amount and cursor. The server renders
// frames with encoding/json from fixed structs (pkg/event), so the keys
// come in a known order; anything else falls back to parseFrameSlow. It
// allocates nothing: the slices point into b.
func parseFrame(b []byte, f *frame) error {
	*f = frame{}
	i := bytes.Index(b, keyType)
	if i < 0 {
		return parseFrameSlow(b, f)
	}
	rest := b[i+len(keyType):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return errFrame
	}
	f.typ = rest[:j]
	if c := bytes.Index(b, keyCursor); c >= 0 {
		cur := b[c+len(keyCursor):]
		if k := bytes.IndexByte(cur, '"'); k >= 0 {
			f.cursor = cur[:k]
		}
	}
	if !bytes.Equal(f.typ, typeContribution) {
		return nil
	}
	d := bytes.Index(rest, keyData)
	if d < 0 {
		return parseFrameSlow(b, f)
	}
	data := rest[d+len(keyData):]
	var ok bool
	if f.id, data, ok = intAfter(data, keyID); !ok {
		return parseFrameSlow(b, f)
	}
	if f.campaign, data, ok = intAfter(data, keyCampaign); !ok {
		return parseFrameSlow(b, f)
	}
	a := bytes.Index(data, keyAmount)
	if a < 0 {
		return parseFrameSlow(b, f)
	}
	cents, ok := parseCents(data[a+len(keyAmount):])
	if !ok {
		return parseFrameSlow(b, f)
	}
	f.amount = cents
	return nil
}

// intAfter parses the integer following key in b, and returns the rest.
func intAfter(b, key []byte) (int64, []byte, bool) {
	i := bytes.Index(b, key)
	if i < 0 {
		return 0, b, false
	}
	b = b[i+len(key):]
	var n int64
	k := 0
	for ; k < len(b) && b[k] >= '0' && b[k] <= '9'; k++ {
		n = n*10 + int64(b[k]-'0')
	}
	if k == 0 || k > 18 {
		return 0, b, false
	}
	return n, b[k:], true
}

// parseCents reads a decimal string "123.45" up to its closing quote as
// 12345. Exactly two decimals, as the API renders money.
func parseCents(b []byte) (int64, bool) {
	var n int64
	digits, frac := 0, -1
	for _, c := range b {
		switch {
		case c == '"':
			if frac != 2 || digits == 0 {
				return 0, false
			}
			return n, true
		case c == '.' && frac < 0 && digits > 0:
			frac = 0
		case c >= '0' && c <= '9':
			n = n*10 + int64(c-'0')
			digits++
			if frac >= 0 {
				frac++
			}
			if digits > 15 {
				return 0, false
			}
		default:
			return 0, false
		}
	}
	return 0, false
}

// parseFrameSlow decodes with encoding/json: for frames whose layout the
// fast path does not recognise.
func parseFrameSlow(b []byte, f *frame) error {
	var m struct {
		Type string `json:"type"`
		Data struct {
			ID       int64  `json:"id"`
			Campaign int64  `json:"campaign"`
			Amount   string `json:"amount"`
		} `json:"data"`
		Cursor string `json:"cursor"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*f = frame{typ: []byte(m.Type), id: m.Data.ID, campaign: m.Data.Campaign, cursor: []byte(m.Cursor)}
	if m.Type == string(typeContribution) {
		cents, ok := parseCents(append([]byte(m.Data.Amount), '"'))
		if !ok {
			return errFrame
		}
		f.amount = cents
	}
	return nil
}

// snapshotContribution is one of campaign_data's recent contributions.
type snapshotContribution struct {
	ID     int64  `json:"id"`
	Amount string `json:"amount"`
}

// parseSnapshot returns campaign_data's id, cursor and recent contributions.
func parseSnapshot(b []byte) (id int64, cursor string, recent []snapshotContribution, err error) {
	var m struct {
		Data struct {
			ID            int64                  `json:"id"`
			Contributions []snapshotContribution `json:"contributions"`
		} `json:"data"`
		Cursor string `json:"cursor"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return 0, "", nil, err
	}
	return m.Data.ID, m.Cursor, m.Data.Contributions, nil
}
