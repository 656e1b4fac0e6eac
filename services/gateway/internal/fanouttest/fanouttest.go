// Package fanouttest is an in-process fake of the Fanout gRPC service for
// the gateway's tests: real gRPC over a loopback listener, campaigns set by
// the test, deliveries pushed by the test to the streams that subscribed,
// like a fanout instance does.
//
// Every method is safe for concurrent use. Acknowledgements and deliveries
// of one stream are sent in the order they were made.
package fanouttest

import (
	"context"
	"encoding/json"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
)

// Server is a fake fanout instance.
type Server struct {
	campaignv1.UnimplementedFanoutServer
	addr string

	mu         sync.Mutex
	snapshots  map[int64]*campaignv1.SnapshotResponse
	streams    map[*watch]struct{}
	subscribes []*campaignv1.Subscribe // every Subscribe received, in order
	holdAcks   bool
	refuse     bool
	onSnapshot func(campaignID int64)
	snapshotN  int
	histories  map[int64]*log
	historyN   int
	onHistory  func(campaignID int64)
}

// log is a campaign's recent history as the fake keeps it: every delivery
// pushed or recorded, and the highest position forgotten.
type log struct {
	events  []*campaignv1.Delivery
	horizon cursor.Position
}

type watch struct {
	stream   campaignv1.Fanout_WatchServer
	sendMu   sync.Mutex
	closed   bool           // the handler returned: Send is no longer allowed
	interest map[int64]bool // guarded by Server.mu
	kill     chan struct{}
}

// Start serves a fake on a loopback port until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := &Server{
		addr:      ln.Addr().String(),
		snapshots: make(map[int64]*campaignv1.SnapshotResponse),
		streams:   make(map[*watch]struct{}),
		histories: make(map[int64]*log),
	}
	g := grpc.NewServer()
	campaignv1.RegisterFanoutServer(g, s)
	go func() { _ = g.Serve(ln) }()
	t.Cleanup(func() {
		s.Drop()
		g.Stop()
	})
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.addr }

// SetCampaign makes campaignID found, with frame as its campaign_data at
// pos. Its history reaches back to pos and no further: what happened up to
// the snapshot is only in the snapshot.
func (s *Server) SetCampaign(campaignID int64, pos cursor.Position, frame []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snapshots[campaignID] = &campaignv1.SnapshotResponse{Found: true, Position: pos.PB(), Frame: frame}
	if h := s.history(campaignID); h.horizon.Less(pos) {
		h.horizon = pos
	}
}

// OnHistory sets a function called in History before it reads.
func (s *Server) OnHistory(f func(campaignID int64)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onHistory = f
}

// OnSnapshot sets a function called in Snapshot before it answers.
func (s *Server) OnSnapshot(f func(campaignID int64)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onSnapshot = f
}

// Snapshots returns how many Snapshot calls were answered.
func (s *Server) Snapshots() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshotN
}

// HoldAcks stops (true) or resumes (false) acknowledging Subscribes that
// arrive from now on; interest still takes effect.
func (s *Server) HoldAcks(hold bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holdAcks = hold
}

// Refuse makes Watch and Snapshot fail with Unavailable (true), as a
// stopped instance would, or serve again (false).
func (s *Server) Refuse(refuse bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = refuse
}

// Drop ends every open Watch stream with Unavailable.
func (s *Server) Drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for w := range s.streams {
		close(w.kill)
		delete(s.streams, w)
	}
}

// Streams returns how many Watch streams are open.
func (s *Server) Streams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.streams)
}

// Interested returns how many open streams subscribed to campaignID.
func (s *Server) Interested(campaignID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for w := range s.streams {
		if w.interest[campaignID] {
			n++
		}
	}
	return n
}

// Subscribes returns every Subscribe received so far that names campaigns,
// in order; a link's empty opening Subscribe is left out.
func (s *Server) Subscribes() []*campaignv1.Subscribe {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.subscribes)
}

// Record adds an event to campaignID's history without pushing it, as an
// event committed while a stream was away.
func (s *Server) Record(campaignID int64, pos cursor.Position, frame []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record(delivery(campaignID, pos, frame))
}

// Forget prunes campaignID's history up to and including pos.
func (s *Server) Forget(campaignID int64, pos cursor.Position) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.history(campaignID)
	h.horizon = pos
	h.events = slices.DeleteFunc(h.events, func(d *campaignv1.Delivery) bool {
		return !pos.Less(cursor.FromPB(d.GetPosition()))
	})
}

// Histories returns how many History calls were answered.
func (s *Server) Histories() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.historyN
}

func (s *Server) history(campaignID int64) *log {
	h := s.histories[campaignID]
	if h == nil {
		h = &log{}
		s.histories[campaignID] = h
	}
	return h
}

// record keeps d in its campaign's history, in position order; s.mu must
// be held.
func (s *Server) record(d *campaignv1.Delivery) {
	h := s.history(d.GetCampaignId())
	pos := cursor.FromPB(d.GetPosition())
	i, found := slices.BinarySearchFunc(h.events, pos, func(e *campaignv1.Delivery, p cursor.Position) int {
		switch q := cursor.FromPB(e.GetPosition()); {
		case q.Less(p):
			return -1
		case p.Less(q):
			return 1
		}
		return 0
	})
	if !found {
		h.events = slices.Insert(h.events, i, d)
	}
}

func delivery(campaignID int64, pos cursor.Position, frame []byte) *campaignv1.Delivery {
	return &campaignv1.Delivery{
		CampaignId: campaignID, Position: pos.PB(), EventType: "contribution",
		EventId: pos.String(), Frame: frame, OccurredAtUnixNano: time.Now().UnixNano(),
	}
}

// Push records a delivery of campaignID at pos with frame in its history
// and sends it to every stream subscribed to it, and returns how many there
// were.
func (s *Server) Push(campaignID int64, pos cursor.Position, frame []byte) int {
	dl := delivery(campaignID, pos, frame)
	d := &campaignv1.WatchResponse{Kind: &campaignv1.WatchResponse_Delivery{Delivery: dl}}
	s.mu.Lock()
	s.record(dl)
	var to []*watch
	for w := range s.streams {
		if w.interest[campaignID] {
			to = append(to, w)
		}
	}
	s.mu.Unlock()
	for _, w := range to {
		w.send(d)
	}
	return len(to)
}

func (w *watch) send(m *campaignv1.WatchResponse) {
	w.sendMu.Lock()
	defer w.sendMu.Unlock()
	if !w.closed {
		_ = w.stream.Send(m)
	}
}

// Watch implements campaignv1.FanoutServer.
func (s *Server) Watch(stream campaignv1.Fanout_WatchServer) error {
	w := &watch{stream: stream, interest: make(map[int64]bool), kill: make(chan struct{})}
	s.mu.Lock()
	if s.refuse {
		s.mu.Unlock()
		return status.Error(codes.Unavailable, "refusing")
	}
	s.streams[w] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.streams, w)
		s.mu.Unlock()
		w.sendMu.Lock()
		w.closed = true
		w.sendMu.Unlock()
	}()

	reqs := make(chan *campaignv1.WatchRequest)
	go func() {
		defer close(reqs)
		for {
			r, err := stream.Recv()
			if err != nil {
				return
			}
			select {
			case reqs <- r:
			case <-stream.Context().Done():
				return
			}
		}
	}()
	for {
		select {
		case <-w.kill:
			return status.Error(codes.Unavailable, "dropped by the test")
		case <-stream.Context().Done():
			return stream.Context().Err()
		case r, ok := <-reqs:
			if !ok {
				return nil
			}
			s.handle(w, r)
		}
	}
}

func (s *Server) handle(w *watch, r *campaignv1.WatchRequest) {
	switch k := r.GetKind().(type) {
	case *campaignv1.WatchRequest_Subscribe:
		s.mu.Lock()
		for _, id := range k.Subscribe.GetCampaignIds() {
			w.interest[id] = true
		}
		if len(k.Subscribe.GetCampaignIds()) > 0 { // not a link's opening probe
			s.subscribes = append(s.subscribes, k.Subscribe)
		}
		hold := s.holdAcks
		s.mu.Unlock()
		if !hold {
			w.send(&campaignv1.WatchResponse{Kind: &campaignv1.WatchResponse_Subscribed{
				Subscribed: &campaignv1.Subscribed{Seq: k.Subscribe.GetSeq()},
			}})
		}
	case *campaignv1.WatchRequest_Unsubscribe:
		s.mu.Lock()
		for _, id := range k.Unsubscribe.GetCampaignIds() {
			delete(w.interest, id)
		}
		s.mu.Unlock()
	}
}

// Snapshot implements campaignv1.FanoutServer.
func (s *Server) Snapshot(_ context.Context, req *campaignv1.SnapshotRequest) (*campaignv1.SnapshotResponse, error) {
	s.mu.Lock()
	refuse, hook := s.refuse, s.onSnapshot
	s.mu.Unlock()
	if refuse {
		return nil, status.Error(codes.Unavailable, "refusing")
	}
	if hook != nil {
		hook(req.GetCampaignId())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snapshotN++
	if snap, ok := s.snapshots[req.GetCampaignId()]; ok {
		return snap, nil
	}
	return &campaignv1.SnapshotResponse{Found: false}, nil
}

// Eventually polls cond until it holds, failing the test after 10 seconds
// (a hang guard, not a timing assertion).
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// History implements campaignv1.FanoutServer like fanout does: complete when
// the cursor is in the view's epoch and partition, not past the view, and
// not before what was forgotten. The view's position is the later of the
// campaign's snapshot and its last event.
func (s *Server) History(_ context.Context, req *campaignv1.HistoryRequest) (*campaignv1.HistoryResponse, error) {
	s.mu.Lock()
	hook := s.onHistory
	s.mu.Unlock()
	if hook != nil {
		hook(req.GetCampaignId())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse {
		return nil, status.Error(codes.Unavailable, "refusing")
	}
	s.historyN++
	snap, ok := s.snapshots[req.GetCampaignId()]
	if !ok {
		return &campaignv1.HistoryResponse{}, nil
	}
	h := s.history(req.GetCampaignId())
	view := cursor.FromPB(snap.GetPosition())
	if n := len(h.events); n > 0 && view.Less(cursor.FromPB(h.events[n-1].GetPosition())) {
		view = cursor.FromPB(h.events[n-1].GetPosition())
	}
	var probe struct {
		Data struct {
			Owner struct {
				ID int64 `json:"id"`
			} `json:"owner"`
			Private bool `json:"private"`
		} `json:"data"`
	}
	_ = json.Unmarshal(snap.GetFrame(), &probe)
	resp := &campaignv1.HistoryResponse{
		Found: true, Position: view.PB(), Private: probe.Data.Private, OwnerId: probe.Data.Owner.ID,
	}
	after := cursor.FromPB(req.GetAfter())
	if after.Epoch != view.Epoch || after.Partition != view.Partition || view.Less(after) || after.Less(h.horizon) {
		return resp, nil
	}
	resp.Complete = true
	for _, d := range h.events {
		if after.Less(cursor.FromPB(d.GetPosition())) {
			resp.Deliveries = append(resp.Deliveries, d)
		}
	}
	return resp, nil
}
