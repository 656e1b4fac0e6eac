package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

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

// reads is a fake fanout: a fixed snapshot and history, counting calls.
type reads struct {
	snap    *campaignv1.SnapshotResponse
	hist    *campaignv1.HistoryResponse
	err     error
	mu      sync.Mutex
	afters  []cursor.Position // of History calls
	snapped int
}

func (r *reads) Snapshot(context.Context, int64) (*campaignv1.SnapshotResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.snapped++
	return r.snap, r.err
}

func (r *reads) History(_ context.Context, _ int64, after cursor.Position) (*campaignv1.HistoryResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.afters = append(r.afters, after)
	return r.hist, r.err
}

func at(off int64) cursor.Position { return cursor.Position{Epoch: 1, Partition: 2, Offset: off} }

func delivery(id, off int64) *campaignv1.Delivery {
	return &campaignv1.Delivery{
		CampaignId: id, Position: at(off).PB(), EventId: fmt.Sprint(off),
		Frame: fmt.Appendf(nil, `{"type":"comment","cursor":%q}`, at(off)),
	}
}

func newHub(r Reader) *Hub { return New(r, slog.New(slog.DiscardHandler)) }

func TestDeliverSharesOneFrameAcrossSockets(t *testing.T) {
	h := newHub(nil)
	a, b, other := &sink{}, &sink{}, &sink{}
	h.Attach(1, a)
	h.Attach(1, b)
	h.Attach(2, other)

	h.Deliver(0, delivery(1, 5))
	h.Deliver(0, delivery(3, 6)) // nobody watches 3

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
		h.Deliver(0, delivery(1, off))
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
	h.Deliver(0, delivery(1, 1))
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
	h.Deliver(0, delivery(1, 1))
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
			h.Deliver(0, delivery(1, off))
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

func TestResyncBarrierThenCatchup(t *testing.T) {
	private := `{"type":"campaign_data","data":{"id":1,"owner":{"id":7},"private":true},"cursor":"x"}`
	snap := &campaignv1.SnapshotResponse{Found: true, Position: at(9).PB(), Frame: []byte(private)}
	tests := []struct {
		name       string
		r          *reads
		wantOffs   []int64 // of the frames returned
		wantKind   Kind
		wantErr    error
		wantPublic bool
	}{
		{"history reaches back", &reads{hist: &campaignv1.HistoryResponse{
			Found: true, Complete: true, Deliveries: []*campaignv1.Delivery{delivery(1, 6), delivery(1, 7)},
		}}, []int64{6, 7}, Event, nil, true},
		{"history does not: snapshot", &reads{
			hist: &campaignv1.HistoryResponse{Found: true}, snap: snap,
		}, []int64{9}, Snapshot, nil, false},
		{"gone", &reads{hist: &campaignv1.HistoryResponse{}}, nil, 0, ErrNotFound, false},
		{"unavailable", &reads{err: errors.New("fanout down")}, nil, 0, errors.New(""), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHub(tt.r)
			a, b := &sink{}, &sink{}
			h.Attach(1, a)
			h.Attach(1, b)
			h.Deliver(0, delivery(1, 5))
			ready := h.Resync([]int64{1, 2})
			h.Deliver(0, delivery(1, 10))

			if len(a.got) != 3 || a.got[1].Kind != Barrier || a.got[1] != b.got[1] {
				t.Fatalf("offered %v, want event, one shared barrier, event", a.got)
			}
			rs := a.got[1].Resync
			// Not ready: a catch-up waits.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			if _, _, err := rs.Catchup(ctx, at(5)); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Catchup before ready = %v, want it to wait", err)
			}
			ready(nil)
			// Two sockets at the same position share one read.
			var wg sync.WaitGroup
			for range 2 {
				wg.Go(func() {
					frames, vis, err := rs.Catchup(context.Background(), at(5))
					switch {
					case tt.wantErr == nil && err != nil:
						t.Errorf("Catchup: %v", err)
					case tt.wantErr == nil:
						var offs []int64
						for _, f := range frames {
							offs = append(offs, f.Pos.Offset)
							if f.Kind != tt.wantKind {
								t.Errorf("frame kind %d, want %d", f.Kind, tt.wantKind)
							}
						}
						if !slices.Equal(offs, tt.wantOffs) {
							t.Errorf("frames at %v, want %v", offs, tt.wantOffs)
						}
						if vis.Private == tt.wantPublic {
							t.Errorf("visibility %+v", vis)
						}
					case errors.Is(tt.wantErr, ErrNotFound) && !errors.Is(err, ErrNotFound):
						t.Errorf("Catchup error %v, want ErrNotFound", err)
					case err == nil:
						t.Error("Catchup error nil, want one")
					}
				})
			}
			wg.Wait()
			if len(tt.r.afters) != 1 || tt.r.afters[0] != at(5) {
				t.Errorf("history read after %v, want once after %v", tt.r.afters, at(5))
			}
		})
	}
}

func TestFailedResyncFailsCatchup(t *testing.T) {
	h := newHub(&reads{})
	a := &sink{}
	h.Attach(1, a)
	h.Resync([]int64{1})(errors.New("stream broke"))
	if _, _, err := a.got[0].Resync.Catchup(context.Background(), at(1)); err == nil {
		t.Fatal("Catchup of a failed resync = nil error")
	}
}

// TestSwitchOfStreamPutsABarrierFirst: a campaign whose deliveries move to
// another fanout stream (its partition moved) catches up from history
// before the first delivery of the new stream.
func TestSwitchOfStreamPutsABarrierFirst(t *testing.T) {
	r := &reads{hist: &campaignv1.HistoryResponse{Found: true, Complete: true}}
	h := newHub(r)
	a := &sink{}
	h.Attach(1, a)
	h.Deliver(0, delivery(1, 5))
	h.Deliver(0, delivery(1, 6))
	h.Deliver(1, delivery(1, 6)) // a duplicate from the new owner: dropped, no barrier
	h.Deliver(1, delivery(1, 8))
	h.Deliver(1, delivery(1, 9))
	var kinds []Kind
	for _, f := range a.got {
		kinds = append(kinds, f.Kind)
	}
	if want := []Kind{Event, Event, Barrier, Event, Event}; !slices.Equal(kinds, want) {
		t.Fatalf("offered kinds %v, want %v", kinds, want)
	}
	if _, _, err := a.got[2].Resync.Catchup(context.Background(), at(6)); err != nil {
		t.Fatalf("Catchup: %v (a switch barrier is ready at once)", err)
	}
}
