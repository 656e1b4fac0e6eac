package api

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/services/fanout/internal/hub"
	"github.com/campaign-live/campaign-live/services/fanout/internal/view"
)

// GRPCServer implements campaignv1.FanoutServer for the gateways.
type GRPCServer struct {
	campaignv1.UnimplementedFanoutServer
	hub     *hub.Hub
	views   Views
	history Histories
	log     *slog.Logger
}

// Histories reads recent history; view.Store's History with a limit is one.
type Histories interface {
	History(ctx context.Context, campaignID int64, after cursor.Position) (view.History, error)
}

// HistoryFunc adapts a function to Histories.
type HistoryFunc func(ctx context.Context, campaignID int64, after cursor.Position) (view.History, error)

// History calls f.
func (f HistoryFunc) History(ctx context.Context, campaignID int64, after cursor.Position) (view.History, error) {
	return f(ctx, campaignID, after)
}

// NewGRPCServer returns the Fanout service over h and views.
func NewGRPCServer(h *hub.Hub, views Views, log *slog.Logger) *GRPCServer {
	return &GRPCServer{hub: h, views: views, log: log}
}

// WithHistory serves History from h; without it History is Unimplemented.
func (g *GRPCServer) WithHistory(h Histories) *GRPCServer {
	g.history = h
	return g
}

var _ campaignv1.FanoutServer = (*GRPCServer)(nil)

// Watch serves one gateway: a goroutine receives its Subscribe/Unsubscribe
// requests, another sends its queue, and the handler waits for the first of
// them to end, or for the hub to end the stream (stalled, shutting down).
//
// The sender is not the handler's goroutine because a stalled gateway leaves
// Send blocked on flow control: returning from the handler is what makes
// gRPC reset the stream, which unblocks that Send.
func (g *GRPCServer) Watch(stream grpc.BidiStreamingServer[campaignv1.WatchRequest, campaignv1.WatchResponse]) error {
	ctx := stream.Context()
	addr := "unknown"
	if p, ok := peer.FromContext(ctx); ok {
		addr = p.Addr.String()
	}
	w := g.hub.Join(addr)
	defer w.Leave()

	recvErr := make(chan error, 1)
	go func() { recvErr <- receive(ctx, stream, w) }()
	sendErr := make(chan error, 1)
	go func() { sendErr <- send(stream, w) }()

	select {
	case err := <-recvErr:
		if errors.Is(err, io.EOF) {
			return nil // the gateway closed its side: it is done watching
		}
		return err
	case err := <-sendErr:
		if err == nil { // the sender saw the hub end the stream
			return ended(w)
		}
		return err
	case <-w.Done():
		return ended(w)
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
}

// ended is the status of a stream the hub ended (stalled, or shutting
// down): Unavailable, which tells the gateway to reconnect and resync.
func ended(w *hub.Stream) error {
	return status.Error(codes.Unavailable, w.Err().Error())
}

func receive(ctx context.Context, stream grpc.BidiStreamingServer[campaignv1.WatchRequest, campaignv1.WatchResponse], w *hub.Stream) error {
	for {
		req, err := stream.Recv()
		if err != nil {
			return err
		}
		switch k := req.GetKind().(type) {
		case *campaignv1.WatchRequest_Subscribe:
			if err := validIDs(k.Subscribe.GetCampaignIds()); err != nil {
				return err
			}
			if err := w.Subscribe(ctx, k.Subscribe.GetSeq(), k.Subscribe.GetCampaignIds()); err != nil {
				return err
			}
		case *campaignv1.WatchRequest_Unsubscribe:
			w.Unsubscribe(k.Unsubscribe.GetCampaignIds())
		default:
			return status.Error(codes.InvalidArgument, "empty WatchRequest")
		}
	}
}

func validIDs(ids []int64) error {
	for _, id := range ids {
		if id <= 0 {
			return status.Errorf(codes.InvalidArgument, "campaign id %d", id)
		}
	}
	return nil
}

func send(stream grpc.BidiStreamingServer[campaignv1.WatchRequest, campaignv1.WatchResponse], w *hub.Stream) error {
	for {
		select {
		case m := <-w.Queue():
			err := stream.Send(m)
			w.Sent()
			if err != nil {
				return err
			}
		case <-w.Done():
			return nil
		}
	}
}

// Snapshot returns a campaign's view and the position it reflects. It does
// not apply the private-campaign rule: gateways know the viewer and decide.
func (g *GRPCServer) Snapshot(ctx context.Context, req *campaignv1.SnapshotRequest) (*campaignv1.SnapshotResponse, error) {
	if req.GetCampaignId() <= 0 {
		return nil, status.Errorf(codes.InvalidArgument, "campaign id %d", req.GetCampaignId())
	}
	snap, err := g.views.Snapshot(ctx, req.GetCampaignId())
	if err != nil {
		g.log.ErrorContext(ctx, "snapshot failed", "campaign_id", req.GetCampaignId(), "err", err)
		return nil, status.Error(codes.Internal, "read view")
	}
	if !snap.Found {
		return &campaignv1.SnapshotResponse{Found: false}, nil
	}
	return &campaignv1.SnapshotResponse{Found: true, Position: snap.Position.PB(), Frame: snap.Frame}, nil
}

// History returns a campaign's events after a position from recent history,
// and whether they are all of them. Like Snapshot it does not apply the
// private-campaign rule: it reports the visibility, and gateways decide.
func (g *GRPCServer) History(ctx context.Context, req *campaignv1.HistoryRequest) (*campaignv1.HistoryResponse, error) {
	if g.history == nil {
		return nil, status.Error(codes.Unimplemented, "history is not served")
	}
	if req.GetCampaignId() <= 0 {
		return nil, status.Errorf(codes.InvalidArgument, "campaign id %d", req.GetCampaignId())
	}
	h, err := g.history.History(ctx, req.GetCampaignId(), cursor.FromPB(req.GetAfter()))
	if err != nil {
		g.log.ErrorContext(ctx, "history failed", "campaign_id", req.GetCampaignId(), "err", err)
		return nil, status.Error(codes.Internal, "read history")
	}
	resp := &campaignv1.HistoryResponse{
		Found: h.Found, Complete: h.Complete, Position: h.Position.PB(),
		Private: h.Private, OwnerId: h.OwnerID,
	}
	if h.Complete {
		resp.Deliveries = make([]*campaignv1.Delivery, len(h.Deliveries))
		for i, d := range h.Deliveries {
			resp.Deliveries[i] = d.PB()
		}
	}
	return resp, nil
}
