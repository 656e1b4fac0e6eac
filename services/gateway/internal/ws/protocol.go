package ws

import (
	"encoding/json"

	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/services/gateway/internal/hub"
)

// Close codes beyond RFC 6455's (DESIGN.md §2).
const (
	CloseBadToken        = 4401
	CloseForbidden       = 4403
	CloseNoSuchCampaign  = 4404
	reasonNoSuchCampaign = "no such campaign"
)

// Replies to inbound messages are the same few bytes every time, so each is
// one prepared frame shared by every socket.
var (
	replyPong = mustReply("pong", `{"type":"pong"}`)
	// The seed let a client ask for any object to be broadcast; here events
	// come only from the outbox, so anything but ping is refused.
	replyUnsupported = mustReply("error", `{"type":"error","code":"unsupported_type","message":"only {\"type\":\"ping\"} is accepted; campaign events come from the server"}`)
	replyMalformed   = mustReply("error", `{"type":"error","code":"malformed","message":"a message is a JSON object with a string \"type\""}`)
	replyRateLimited = mustReply("error", `{"type":"error","code":"rate_limited","message":"too many messages; slow down, or the socket is closed"}`)
)

func mustReply(typ, s string) *hub.Frame {
	f, err := hub.NewFrame(hub.Reply, typ, []byte(s), cursor.Position{})
	if err != nil {
		panic(err)
	}
	return f
}

// answer returns the reply to one inbound text message. Nothing a client
// sends is ever passed on to another socket.
func answer(data []byte) *hub.Frame {
	var m struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &m); err != nil || m.Type == "" {
		return replyMalformed
	}
	switch m.Type {
	case "ping":
		return replyPong
	default:
		return replyUnsupported
	}
}
