package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"testing"

	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
)

// sink records what it is offered.
type sink struct{ got []*Frame }

func (s *sink) Deliver(f *Frame) { s.got = append(s.got, f) }

func (s *sink) offsets() []int64 {
	var out []int64
	for _, f := range s.got {
		out = append(out, f.Pos.Offset)
	}
	return out
}

type snapshots struct {
	resp *campaignv1.SnapshotResponse
	err  error
}

func (s snapshots) Snapshot(context.Context, int64) (*campaignv1.SnapshotResponse, error) {
	return s.resp, s.err
}

func at(off int64) cursor.Position { return cursor.Position{Epoch: 1, Partition: 2, Offset: off} }

func delivery(id, off int64) *campaignv1.Delivery {
	return &campaignv1.Delivery{
		CampaignId: id, Position: at(off).PB(), EventId: fmt.Sprint(off),
		Frame: fmt.Appendf(nil, `{"type":"comment","cursor":%q}`, at(off)),
	}
}

func newHub(s Snapshotter) *Hub { return New(s, slog.New(slog.DiscardHandler)) }

func TestDeliverSharesOneFrameAcrossSockets(t *testing.T) {
	h := newHub(nil)
	a, b, other := &sink{}, &sink{}, &sink{}
	h.Attach(1, a)
	h.Attach(1, b)
	h.Attach(2, other)

	h.Deliver(delivery(1, 5))
	h.Deliver(delivery(3, 6)) // nobody watches 3

	if len(a.got) != 1 || len(b.got) != 1 {
		t.Fatalf("got %d and %d frames, want 1 each", len(a.got), len(b.got))
	}
	if a.got[0] != b.got[0] || a.got[0].Msg == nil {
		t.Error("the sockets got different frames, want one prepared frame shared")
	}
	if f := a.got[0]; f.Kind != Event || f.Pos != at(5) {
		t.Errorf("frame = kind %d at %v, want an event at %v", f.Kind, f.Pos, at(5))
	}
	if len(other.got) != 0 {
		t.Errorf("campaign 2 got %d frames, want 0", len(other.got))
	}
}

func TestDeliverDropsWhatTheRoomHasSeen(t *testing.T) {
	h := newHub(nil)
	s := &sink{}
	h.Attach(1, s)
	for _, off := range []int64{5, 5, 4, 6, 5, 7, 7} {
		h.Deliver(delivery(1, off))
	}
	if got, want := s.offsets(), []int64{5, 6, 7}; !slices.Equal(got, want) {
		t.Errorf("offered offsets %v, want %v", got, want)
	}
}

func TestDetach(t *testing.T) {
	h := newHub(nil)
	sinks := []*sink{{}, {}, {}, {}}
	subs := make([]*Subscription, len(sinks))
	for i, s := range sinks {
		subs[i] = h.Attach(1, s)
	}
	h.Detach(subs[1])
	h.Detach(subs[1]) // twice is harmless
	h.Detach(subs[0])
	h.Deliver(delivery(1, 1))
	for i, want := range []int{0, 0, 1, 1} {
		if got := len(sinks[i].got); got != want {
			t.Errorf("sink %d got %d frames, want %d", i, got, want)
		}
	}
	if got := h.Watchers(1); got != 2 {
		t.Errorf("Watchers = %d, want 2", got)
	}
	h.Detach(subs[3])
	h.Detach(subs[2])
	if got := h.Watchers(1); got != 0 {
		t.Errorf("Watchers = %d, want 0", got)
	}
	// A new room starts afresh: an old position is news to it.
	s := &sink{}
	h.Attach(1, s)
	h.Deliver(delivery(1, 1))
	if len(s.got) != 1 {
		t.Errorf("new room got %d frames, want 1", len(s.got))
	}
}

// Dispatch costs the same however many sockets watch: nothing is
// allocated per socket.
func TestDeliverAllocatesNothingPerSocket(t *testing.T) {
	allocs := func(n int) float64 {
		h := newHub(nil)
		for range n {
			h.Attach(1, discard{})
		}
		off := int64(0)
		return testing.AllocsPerRun(200, func() {
			off++
			h.Deliver(delivery(1, off))
		})
	}
	one, many := allocs(1), allocs(1000)
	// Allowing a little noise (the race detector allocates too), far below
	// one allocation per socket.
	if many > one+5 {
		t.Errorf("a delivery allocates %.0f times with 1 socket and %.0f with 1000, want the same", one, many)
	}
}

type discard struct{}

func (discard) Deliver(*Frame) {}

func TestReconnectedBarrierThenSnapshot(t *testing.T) {
	frame := `{"type":"campaign_data","data":{"id":1,"owner":{"id":7},"private":true},"cursor":"x"}`
	tests := []struct {
		name    string
		snap    snapshots
		wantErr error
	}{
		{"found", snapshots{resp: &campaignv1.SnapshotResponse{Found: true, Position: at(9).PB(), Frame: []byte(frame)}}, nil},
		{"gone", snapshots{resp: &campaignv1.SnapshotResponse{}}, ErrNotFound},
		{"unavailable", snapshots{err: errors.New("fanout down")}, errors.New("")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHub(tt.snap)
			a, b := &sink{}, &sink{}
			h.Attach(1, a)
			h.Attach(1, b)
			h.Deliver(delivery(1, 5))
			h.Reconnected(context.Background(), []int64{1, 2})
			h.Deliver(delivery(1, 10))

			if len(a.got) != 3 || a.got[1].Kind != Barrier || a.got[1] != b.got[1] {
				t.Fatalf("offered %v, want event, one shared barrier, event", a.got)
			}
			rs := a.got[1].Resync
			<-rs.Done()
			snap, err := rs.Result()
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("Result: %v", err)
			case tt.wantErr == nil:
				if snap.Kind != Snapshot || snap.Pos != at(9) || !snap.Private || snap.OwnerID != 7 {
					t.Errorf("snapshot = %+v, want a private snapshot of owner 7 at %v", snap, at(9))
				}
			case errors.Is(tt.wantErr, ErrNotFound) && !errors.Is(err, ErrNotFound):
				t.Errorf("Result error %v, want ErrNotFound", err)
			case err == nil:
				t.Error("Result error nil, want one")
			}
		})
	}
}
