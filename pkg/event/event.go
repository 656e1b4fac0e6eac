// Package event builds, encodes and decodes the campaign.v1.Event envelope
// that every service writes through its outbox, and renders events as the
// JSON messages browsers receive.
//
// The JSON shapes are the seed system's and are part of the browser contract
// (DESIGN.md §2): money is a decimal string, times are RFC 3339 UTC, and a
// campaign is referred to by its numeric id. REST responses use the same
// shapes, so an object looks the same whether it was read or pushed.
package event

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
)

// Event types, as in Event.type, the `event-type` header and the browser
// message's "type".
const (
	TypeCampaign     = "campaign"
	TypeContribution = "contribution"
	TypeUpdate       = "update"
	TypeComment      = "comment"
	TypeRelease      = "release"
	TypeMilestone    = "milestone"
)

// Kafka header names.
const (
	HeaderType        = "event-type"
	HeaderTraceparent = "traceparent"
)

// ErrInvalid reports a record that is not a well-formed event.
var ErrInvalid = errors.New("invalid event")

// New returns an event for one of the payload messages (*campaignv1.Campaign,
// *campaignv1.Contribution, ...), with a fresh UUIDv7 id.
func New(producer string, campaignID int64, occurredAt time.Time, payload proto.Message) (*campaignv1.Event, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("new event id: %w", err)
	}
	e := &campaignv1.Event{
		Id:         id.String(),
		CampaignId: campaignID,
		OccurredAt: timestamppb.New(occurredAt),
		Producer:   producer,
	}
	switch p := payload.(type) {
	case *campaignv1.Campaign:
		e.Type, e.Payload = TypeCampaign, &campaignv1.Event_Campaign{Campaign: p}
	case *campaignv1.Contribution:
		e.Type, e.Payload = TypeContribution, &campaignv1.Event_Contribution{Contribution: p}
	case *campaignv1.Update:
		e.Type, e.Payload = TypeUpdate, &campaignv1.Event_Update{Update: p}
	case *campaignv1.Comment:
		e.Type, e.Payload = TypeComment, &campaignv1.Event_Comment{Comment: p}
	case *campaignv1.Release:
		e.Type, e.Payload = TypeRelease, &campaignv1.Event_Release{Release: p}
	case *campaignv1.Milestone:
		e.Type, e.Payload = TypeMilestone, &campaignv1.Event_Milestone{Milestone: p}
	default:
		return nil, fmt.Errorf("new event: unknown payload %T", payload)
	}
	return e, nil
}

// Marshal encodes e for the topic.
func Marshal(e *campaignv1.Event) ([]byte, error) {
	b, err := proto.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("marshal event: %w", err)
	}
	return b, nil
}

// Unmarshal decodes a record value and checks that the envelope is whole:
// an id, a positive campaign id, a time, and a payload that matches its type.
func Unmarshal(b []byte) (*campaignv1.Event, error) {
	var e campaignv1.Event
	if err := proto.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := Validate(&e); err != nil {
		return nil, err
	}
	return &e, nil
}

// Validate checks the envelope of e.
func Validate(e *campaignv1.Event) error {
	switch {
	case e.GetId() == "":
		return fmt.Errorf("%w: no id", ErrInvalid)
	case e.GetCampaignId() <= 0:
		return fmt.Errorf("%w: campaign id %d", ErrInvalid, e.GetCampaignId())
	case e.GetOccurredAt() == nil:
		return fmt.Errorf("%w: no occurred_at", ErrInvalid)
	}
	if got := payloadType(e); got == "" || got != e.GetType() {
		return fmt.Errorf("%w: type %q with payload %q", ErrInvalid, e.GetType(), got)
	}
	return nil
}

func payloadType(e *campaignv1.Event) string {
	switch e.GetPayload().(type) {
	case *campaignv1.Event_Campaign:
		return TypeCampaign
	case *campaignv1.Event_Contribution:
		return TypeContribution
	case *campaignv1.Event_Update:
		return TypeUpdate
	case *campaignv1.Event_Comment:
		return TypeComment
	case *campaignv1.Event_Release:
		return TypeRelease
	case *campaignv1.Event_Milestone:
		return TypeMilestone
	}
	return ""
}

// Key is the record key for a campaign: its id in decimal. Every producer
// partitions by it with the Murmur2 balancer, as the Java client does.
func Key(campaignID int64) []byte {
	return strconv.AppendInt(nil, campaignID, 10)
}
