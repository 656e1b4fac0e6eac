// Package cursor encodes the position of an event in the topic as the cursor
// string that browsers receive and send back in `since=`.
//
// A cursor is opaque to clients, with one promise: within one campaign a
// later event has a cursor that compares greater as a plain string. It is 28
// lowercase hex digits, epoch (8) then partition (4) then offset (16), so that
// string order is position order. A campaign lives in one partition, so its
// cursors differ only in offset, or in epoch after the topic was recreated.
package cursor

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
)

// Len is the length of an encoded cursor.
const Len = 28

// ErrInvalid reports a string that is not a cursor.
var ErrInvalid = errors.New("invalid cursor")

// Position is where an event sits in the topic.
type Position struct {
	Epoch     uint32
	Partition int32
	Offset    int64
}

// Zero reports whether p is the position before any event.
func (p Position) Zero() bool { return p == Position{} }

// Less reports whether p comes before q. It is meaningful for two positions
// of the same campaign.
func (p Position) Less(q Position) bool {
	if p.Epoch != q.Epoch {
		return p.Epoch < q.Epoch
	}
	if p.Partition != q.Partition {
		return p.Partition < q.Partition
	}
	return p.Offset < q.Offset
}

// String returns the cursor for p.
func (p Position) String() string { return Encode(p) }

// Encode returns the cursor for p.
func Encode(p Position) string {
	return fmt.Sprintf("%08x%04x%016x", p.Epoch, uint16(p.Partition), uint64(p.Offset))
}

// Parse reads a cursor made by Encode.
func Parse(s string) (Position, error) {
	if len(s) != Len {
		return Position{}, ErrInvalid
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return Position{}, ErrInvalid
		}
	}
	epoch, err1 := strconv.ParseUint(s[0:8], 16, 32)
	part, err2 := strconv.ParseUint(s[8:12], 16, 16)
	off, err3 := strconv.ParseUint(s[12:28], 16, 63)
	if err := errors.Join(err1, err2, err3); err != nil {
		return Position{}, ErrInvalid
	}
	return Position{Epoch: uint32(epoch), Partition: int32(part), Offset: int64(off)}, nil
}

// FromPB converts the wire position.
func FromPB(p *campaignv1.Position) Position {
	if p == nil {
		return Position{}
	}
	return Position{Epoch: p.GetEpoch(), Partition: p.GetPartition(), Offset: p.GetOffset()}
}

// PB converts p to the wire position.
func (p Position) PB() *campaignv1.Position {
	return &campaignv1.Position{Epoch: p.Epoch, Partition: p.Partition, Offset: p.Offset}
}
