package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/services/fanout/internal/hub"
	"github.com/campaign-live/campaign-live/services/fanout/internal/view"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fakeViews serves fixed snapshots.
type fakeViews map[int64]view.Snapshot

func (f fakeViews) Snapshot(_ context.Context, id int64) (view.Snapshot, error) {
	if id == 500 {
		return view.Snapshot{}, errors.New("database down")
	}
	return f[id], nil
}

var snap42 = view.Snapshot{
	Found: true, Position: cursor.Position{Epoch: 1, Partition: 2, Offset: 9},
	Frame: []byte(`{"type":"campaign_data","data":{"id":42},"cursor":"0000000100020000000000000009"}`), OwnerID: 3,
}

// startFanout serves the Fanout service over an in-memory connection and
// returns a client for it.
func startFanout(t *testing.T, h *hub.Hub, views Views, history ...Histories) campaignv1.FanoutClient {
	t.Helper()
	ln := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	g := NewGRPCServer(h, views, quiet)
	if len(history) > 0 {
		g.WithHistory(history[0])
	}
	campaignv1.RegisterFanoutServer(srv, g)
	go func() { _ = srv.Serve(ln) }()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.Close()
		_ = conn.Close()
		srv.Stop()
	})
	return campaignv1.NewFanoutClient(conn)
}

type watchClient = grpc.BidiStreamingClient[campaignv1.WatchRequest, campaignv1.WatchResponse]

func subscribe(t *testing.T, w watchClient, seq uint64, ids ...int64) {
	t.Helper()
	req := &campaignv1.WatchRequest{Kind: &campaignv1.WatchRequest_Subscribe{
		Subscribe: &campaignv1.Subscribe{Seq: seq, CampaignIds: ids}}}
	if err := w.Send(req); err != nil {
		t.Fatal(err)
	}
	m, err := w.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if got := m.GetSubscribed().GetSeq(); got != seq {
		t.Fatalf("after Subscribe %d got %v, want Subscribed{%d}", seq, m, seq)
	}
}

func frameDelivery(campaignID, offset int64, frame []byte) *campaignv1.Delivery {
	return &campaignv1.Delivery{
		CampaignId: campaignID, Position: &campaignv1.Position{Epoch: 1, Offset: offset},
		EventType: "comment", EventId: "e", Frame: frame,
	}
}

// waitInterest waits until n streams watch campaignID, failing after 10 s
// (a hang guard: the server goroutine may be slow to run on a busy machine).
func waitInterest(t *testing.T, h *hub.Hub, campaignID int64, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h.Interested(campaignID) != n {
		if time.Now().After(deadline) {
			t.Fatalf("Interested(%d) = %d, want %d", campaignID, h.Interested(campaignID), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWatchSubscribeAndDeliver(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := hub.New(64, time.Second, quiet)
	client := startFanout(t, h, fakeViews{})
	w, err := client.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	subscribe(t, w, 1, 42)
	// The ack means the interest is in force: no wait needed before publishing.
	if got := h.Interested(42); got != 1 {
		t.Fatalf("Interested(42) = %d after the ack, want 1", got)
	}

	for off := int64(1); off <= 50; off++ {
		if err := h.Publish(ctx, frameDelivery(43, off, nil)); err != nil { // not watched
			t.Fatal(err)
		}
		if err := h.Publish(ctx, frameDelivery(42, off, []byte(`{"type":"comment"}`))); err != nil {
			t.Fatal(err)
		}
	}
	for off := int64(1); off <= 50; off++ {
		m, err := w.Recv()
		if err != nil {
			t.Fatal(err)
		}
		d := m.GetDelivery()
		if d.GetCampaignId() != 42 || d.GetPosition().GetOffset() != off || string(d.GetFrame()) != `{"type":"comment"}` {
			t.Fatalf("delivery %d = %v, want campaign 42 at offset %d", off, d, off)
		}
	}

	// Unsubscribe, then subscribe another campaign: its ack comes next, with
	// nothing of 42 in between.
	if err := w.Send(&campaignv1.WatchRequest{Kind: &campaignv1.WatchRequest_Unsubscribe{
		Unsubscribe: &campaignv1.Unsubscribe{CampaignIds: []int64{42}}}}); err != nil {
		t.Fatal(err)
	}
	waitInterest(t, h, 42, 0)
	if err := h.Publish(ctx, frameDelivery(42, 51, nil)); err != nil {
		t.Fatal(err)
	}
	subscribe(t, w, 2, 44)

	// Closing our side ends the stream cleanly and forgets the interest.
	if err := w.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("Recv after CloseSend = %v, want io.EOF", err)
	}
	waitInterest(t, h, 44, 0)
}

func TestWatchRejectsBadRequests(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := startFanout(t, hub.New(8, time.Second, quiet), fakeViews{})
	for name, req := range map[string]*campaignv1.WatchRequest{
		"empty":       {},
		"bad id":      {Kind: &campaignv1.WatchRequest_Subscribe{Subscribe: &campaignv1.Subscribe{CampaignIds: []int64{0}}}},
		"negative id": {Kind: &campaignv1.WatchRequest_Subscribe{Subscribe: &campaignv1.Subscribe{CampaignIds: []int64{-4}}}},
	} {
		t.Run(name, func(t *testing.T) {
			w, err := client.Watch(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_ = w.Send(req)
			if _, err := w.Recv(); status.Code(err) != codes.InvalidArgument {
				t.Fatalf("Recv = %v, want InvalidArgument", err)
			}
		})
	}
}

// TestWatchStalledGatewayIsCut: a gateway that stops reading first holds the
// publisher back (nothing is dropped), then, past the stall timeout, loses
// its stream with Unavailable, and the publisher goes on.
func TestWatchStalledGatewayIsCut(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const stall = 200 * time.Millisecond
	h := hub.New(16, stall, quiet)
	client := startFanout(t, h, fakeViews{})
	w, err := client.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	subscribe(t, w, 1, 42)

	// Large frames fill the HTTP/2 windows and then the queue quickly.
	frame := bytes.Repeat([]byte("x"), 64<<10)
	var published int64
	start := time.Now()
	for published = 1; published <= 200; published++ {
		if err := h.Publish(ctx, frameDelivery(42, published, frame)); err != nil {
			t.Fatal(err)
		}
		if h.Interested(42) == 0 || time.Since(start) > 10*time.Second {
			break
		}
	}
	waitInterest(t, h, 42, 0)
	if took := time.Since(start); took < stall {
		t.Fatalf("the gateway was cut after %v, before the %v stall timeout", took, stall)
	}

	// The gateway reads what was sent before the cut, in order, then the error.
	var got int64
	for {
		m, err := w.Recv()
		if err != nil {
			if status.Code(err) != codes.Unavailable {
				t.Fatalf("stream ended with %v, want Unavailable", err)
			}
			break
		}
		got++
		if off := m.GetDelivery().GetPosition().GetOffset(); off != got {
			t.Fatalf("delivery %d has offset %d: lost or reordered", got, off)
		}
	}
	if got == 0 || got >= published {
		t.Fatalf("gateway read %d of %d deliveries; want some, not all", got, published)
	}
}

func TestWatchEndsOnShutdown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := hub.New(8, time.Second, quiet)
	client := startFanout(t, h, fakeViews{})
	w, err := client.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	subscribe(t, w, 1, 42)
	h.Close()
	if _, err := w.Recv(); status.Code(err) != codes.Unavailable {
		t.Fatalf("Recv after Close = %v, want Unavailable", err)
	}
}

func TestSnapshot(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := startFanout(t, hub.New(8, time.Second, quiet), fakeViews{42: snap42})

	got, err := client.Snapshot(ctx, &campaignv1.SnapshotRequest{CampaignId: 42})
	if err != nil {
		t.Fatal(err)
	}
	if !got.GetFound() || cursor.FromPB(got.GetPosition()) != snap42.Position || !bytes.Equal(got.GetFrame(), snap42.Frame) {
		t.Fatalf("Snapshot(42) = %v, want found at %v with its frame", got, snap42.Position)
	}

	got, err = client.Snapshot(ctx, &campaignv1.SnapshotRequest{CampaignId: 7})
	if err != nil || got.GetFound() || got.GetFrame() != nil {
		t.Fatalf("Snapshot(7) = %v, %v; want not found", got, err)
	}
	if _, err := client.Snapshot(ctx, &campaignv1.SnapshotRequest{CampaignId: 0}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("Snapshot(0) = %v, want InvalidArgument", err)
	}
	if _, err := client.Snapshot(ctx, &campaignv1.SnapshotRequest{CampaignId: 500}); status.Code(err) != codes.Internal {
		t.Fatalf("Snapshot with the database down = %v, want Internal", err)
	}
}

func TestHistory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	at := func(off int64) cursor.Position { return cursor.Position{Epoch: 1, Partition: 4, Offset: off} }
	var asked cursor.Position
	hist := HistoryFunc(func(_ context.Context, id int64, after cursor.Position) (view.History, error) {
		asked = after
		switch id {
		case 42:
			return view.History{Found: true, Complete: true, Position: at(9), Private: true, OwnerID: 3,
				Deliveries: []*view.Delivery{{CampaignID: 42, Position: at(8), EventType: "comment", EventID: "e8", Frame: []byte(`{"type":"comment"}`)}}}, nil
		case 43:
			return view.History{Found: true, Position: at(9)}, nil
		case 500:
			return view.History{}, errors.New("database down")
		}
		return view.History{}, nil
	})
	client := startFanout(t, hub.New(8, time.Second, quiet), fakeViews{}, hist)

	got, err := client.History(ctx, &campaignv1.HistoryRequest{CampaignId: 42, After: at(7).PB()})
	if err != nil {
		t.Fatal(err)
	}
	if asked != at(7) || !got.GetFound() || !got.GetComplete() || !got.GetPrivate() || got.GetOwnerId() != 3 ||
		len(got.GetDeliveries()) != 1 || got.GetDeliveries()[0].GetEventId() != "e8" || cursor.FromPB(got.GetPosition()) != at(9) {
		t.Fatalf("History(42 after 7) = %v", got)
	}
	if got, err := client.History(ctx, &campaignv1.HistoryRequest{CampaignId: 43, After: at(1).PB()}); err != nil || !got.GetFound() || got.GetComplete() {
		t.Fatalf("History(43) = %v, %v; want found and incomplete", got, err)
	}
	if got, err := client.History(ctx, &campaignv1.HistoryRequest{CampaignId: 7}); err != nil || got.GetFound() {
		t.Fatalf("History(7) = %v, %v; want not found", got, err)
	}
	if _, err := client.History(ctx, &campaignv1.HistoryRequest{CampaignId: 0}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("History(0) = %v, want InvalidArgument", err)
	}
	if _, err := client.History(ctx, &campaignv1.HistoryRequest{CampaignId: 500}); status.Code(err) != codes.Internal {
		t.Fatalf("History with the database down = %v, want Internal", err)
	}

	bare := startFanout(t, hub.New(8, time.Second, quiet), fakeViews{})
	if _, err := bare.History(ctx, &campaignv1.HistoryRequest{CampaignId: 42}); status.Code(err) != codes.Unimplemented {
		t.Fatalf("History without a history = %v, want Unimplemented", err)
	}
}
