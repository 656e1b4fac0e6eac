package hub

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func delivery(campaignID, offset int64) *campaignv1.Delivery {
	return &campaignv1.Delivery{CampaignId: campaignID, Position: &campaignv1.Position{Epoch: 1, Offset: offset}}
}

// next returns the stream's next queued message, failing after a second.
func next(t *testing.T, s *Stream) *campaignv1.WatchResponse {
	t.Helper()
	select {
	case m := <-s.Queue():
		return m
	case <-time.After(time.Second):
		t.Fatal("no message queued")
		return nil
	}
}

func empty(t *testing.T, s *Stream) {
	t.Helper()
	select {
	case m := <-s.Queue():
		t.Fatalf("unexpected message %v", m)
	default:
	}
}

func TestSubscribeAcksAfterInterest(t *testing.T) {
	h := New(8, time.Second, quiet)
	s := h.Join("test")
	defer s.Leave()
	if err := s.Subscribe(context.Background(), 7, []int64{42, 43}); err != nil {
		t.Fatal(err)
	}
	if got := h.Interested(42); got != 1 {
		t.Fatalf("Interested(42) = %d after Subscribe, want 1", got)
	}
	if got := next(t, s).GetSubscribed().GetSeq(); got != 7 {
		t.Fatalf("first message is ack %d, want 7", got)
	}
}

func TestPublishReachesOnlyInterestedStreams(t *testing.T) {
	ctx := context.Background()
	h := New(8, time.Second, quiet)
	a, b := h.Join("test"), h.Join("test")
	defer a.Leave()
	defer b.Leave()
	_ = a.Subscribe(ctx, 1, []int64{42})
	_ = b.Subscribe(ctx, 1, []int64{43})
	next(t, a)
	next(t, b)

	for off := int64(1); off <= 3; off++ {
		if err := h.Publish(ctx, delivery(42, off)); err != nil {
			t.Fatal(err)
		}
	}
	for off := int64(1); off <= 3; off++ {
		if got := next(t, a).GetDelivery().GetPosition().GetOffset(); got != off {
			t.Fatalf("delivery %d has offset %d: out of order", off, got)
		}
	}
	empty(t, b)

	a.Unsubscribe([]int64{42})
	if err := h.Publish(ctx, delivery(42, 4)); err != nil {
		t.Fatal(err)
	}
	empty(t, a)
	if got := h.Interested(42); got != 0 {
		t.Fatalf("Interested(42) = %d after Unsubscribe, want 0", got)
	}
}

func TestLeaveForgetsInterest(t *testing.T) {
	h := New(8, time.Second, quiet)
	s := h.Join("test")
	_ = s.Subscribe(context.Background(), 1, []int64{42, 43})
	s.Leave()
	if h.Interested(42)+h.Interested(43) != 0 {
		t.Fatal("interest survived Leave")
	}
	if err := s.Err(); err != nil {
		t.Fatalf("Err after Leave = %v, want nil", err)
	}
}

// TestPublishWaitsForRoom: a full queue holds the publisher back instead of
// dropping, and it goes on as soon as the stream drains.
func TestPublishWaitsForRoom(t *testing.T) {
	ctx := context.Background()
	h := New(1, 5*time.Second, quiet)
	s := h.Join("test")
	defer s.Leave()
	_ = s.Subscribe(ctx, 1, []int64{42}) // the ack fills the queue

	done := make(chan error, 1)
	go func() { done <- h.Publish(ctx, delivery(42, 1)) }()
	select {
	case err := <-done:
		t.Fatalf("Publish returned %v with a full queue, want it to wait", err)
	case <-time.After(50 * time.Millisecond):
	}
	next(t, s) // drain the ack
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := next(t, s).GetDelivery().GetPosition().GetOffset(); got != 1 {
		t.Fatalf("delivery offset %d, want 1", got)
	}
	select {
	case <-s.Done():
		t.Fatal("a stream that drained in time was ended")
	default:
	}
}

// TestStalledStreamIsEnded: a stream whose queue stays full past the stall
// timeout is ended with ErrStalled, and the others still get the event.
func TestStalledStreamIsEnded(t *testing.T) {
	ctx := context.Background()
	// Long enough that a publisher held back by the ended stream (a full
	// stall) cannot be mistaken for one slowed by a busy machine.
	const stall = 500 * time.Millisecond
	h := New(1, stall, quiet)
	stuck, fine := h.Join("test"), h.Join("test")
	defer stuck.Leave()
	defer fine.Leave()
	_ = stuck.Subscribe(ctx, 1, []int64{42})
	_ = fine.Subscribe(ctx, 1, []int64{42})
	next(t, fine)

	start := time.Now()
	if err := h.Publish(ctx, delivery(42, 1)); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < stall || took > 10*stall {
		t.Fatalf("Publish took %v, want about the %v stall timeout", took, stall)
	}
	if err := stuck.Err(); !errors.Is(err, ErrStalled) {
		t.Fatalf("stuck stream ended with %v, want ErrStalled", err)
	}
	if got := next(t, fine).GetDelivery().GetPosition().GetOffset(); got != 1 {
		t.Fatalf("healthy stream got offset %d, want 1", got)
	}
	// An ended stream no longer holds the publisher back.
	start = time.Now()
	if err := h.Publish(ctx, delivery(42, 2)); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took >= stall {
		t.Fatalf("Publish to an ended stream waited %v, the %v stall timeout", took, stall)
	}
}

func TestPublishStopsWithContext(t *testing.T) {
	h := New(1, time.Minute, quiet)
	s := h.Join("test")
	defer s.Leave()
	_ = s.Subscribe(context.Background(), 1, []int64{42})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := h.Publish(ctx, delivery(42, 1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Publish = %v, want the context's error", err)
	}
}

func TestCloseEndsStreams(t *testing.T) {
	h := New(1, time.Minute, quiet)
	s := h.Join("test")
	defer s.Leave()
	_ = s.Subscribe(context.Background(), 1, []int64{42}) // queue now full
	h.Close()
	if err := s.Err(); !errors.Is(err, ErrClosed) {
		t.Fatalf("stream ended with %v, want ErrClosed", err)
	}
	// A Subscribe blocked on the full queue returns too.
	if err := s.Subscribe(context.Background(), 2, []int64{43}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Subscribe after Close = %v, want ErrClosed", err)
	}
	late := h.Join("test")
	defer late.Leave()
	if err := late.Err(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Join after Close gave a stream ending with %v, want ErrClosed", err)
	}
}

// TestTricklingStreamIsEnded: a gateway that takes one message just before
// each wait would time out, but never catches up, is still cut once its
// queue has been full for the stall timeout, so it cannot hold the fanout
// to its pace for ever.
func TestTricklingStreamIsEnded(t *testing.T) {
	ctx := context.Background()
	const stall = 200 * time.Millisecond
	h := New(4, stall, quiet)
	s := h.Join("test")
	defer s.Leave()
	_ = s.Subscribe(ctx, 1, []int64{42})

	stop := make(chan struct{})
	defer close(stop)
	go func() { // drains one message every 50ms
		for {
			select {
			case <-stop:
				return
			case <-s.Done():
				return
			case <-time.After(50 * time.Millisecond):
				select {
				case <-s.Queue():
				default:
				}
			}
		}
	}()
	start := time.Now()
	for off := int64(1); ; off++ {
		if err := h.Publish(ctx, delivery(42, off)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-s.Done():
			if err := s.Err(); !errors.Is(err, ErrStalled) {
				t.Fatalf("stream ended with %v, want ErrStalled", err)
			}
			if took := time.Since(start); took < stall || took > 5*stall {
				t.Fatalf("cut after %v, want about %v of being full", took, stall)
			}
			return
		default:
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("a stream that never caught up was never cut")
		}
	}
}

// TestDrainingResetsTheStallClock: a stream that catches up (drains to
// half) starts its stall clock afresh the next time it is full.
func TestDrainingResetsTheStallClock(t *testing.T) {
	ctx := context.Background()
	// Each round spends a third of the budget waiting: four rounds would
	// exceed it if the clock did not restart.
	const stall = 600 * time.Millisecond
	h := New(2, stall, quiet)
	s := h.Join("test")
	defer s.Leave()
	_ = s.Subscribe(ctx, 1, []int64{42})
	_ = h.Publish(ctx, delivery(42, 1)) // full: ack + 1
	for round := 0; round < 4; round++ {
		done := make(chan error, 1)
		go func() { done <- h.Publish(ctx, delivery(42, 2)) }()
		time.Sleep(stall / 3)
		next(t, s)
		s.Sent()
		// The waiting publisher refills the queue as soon as a message
		// leaves: let it finish before the gateway takes the next (as on a
		// loaded machine), so it never sees the queue at half itself.
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		next(t, s) // caught up
		s.Sent()
		_ = h.Publish(ctx, delivery(42, 3)) // queue full again
	}
	select {
	case <-s.Done():
		t.Fatalf("a stream that kept catching up was cut: %v", s.Err())
	default:
	}
}
