package fanoutlink

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
	"github.com/campaign-live/campaign-live/services/gateway/internal/fanouttest"
)

// recSink records deliveries and resyncs.
type recSink struct {
	mu         sync.Mutex
	deliveries []int64 // offsets
	resyncs    [][]int64
	done       []string
}

func (s *recSink) Deliver(_ int, d *campaignv1.Delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deliveries = append(s.deliveries, d.GetPosition().GetOffset())
}

// Resync records the campaigns at once and the outcome when it comes:
// "ready" or the error.
func (s *recSink) Resync(ids []int64) func(error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resyncs = append(s.resyncs, slices.Sorted(slices.Values(ids)))
	i := len(s.resyncs) - 1
	return func(err error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		out := "ready"
		if err != nil {
			out = err.Error()
		}
		s.done = append(s.done, fmt.Sprintf("%d %s", i, out))
	}
}

func (s *recSink) snapshot() ([]int64, [][]int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries), slices.Clone(s.resyncs)
}

func (s *recSink) outcomes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.done)
}

func start(t *testing.T, n int, opts Options) (*Link, []*fanouttest.Server, *recSink) {
	t.Helper()
	var fans []*fanouttest.Server
	for range n {
		fans = append(fans, fanouttest.Start(t))
	}
	l, sink := run(t, fans, opts)
	fanouttest.Eventually(t, "every stream up", func() bool { return l.Up() == n })
	return l, fans, sink
}

// run runs a link to fans until the test ends.
func run(t *testing.T, fans []*fanouttest.Server, opts Options) (*Link, *recSink) {
	t.Helper()
	var addrs []string
	for _, f := range fans {
		addrs = append(addrs, f.Addr())
	}
	opts.MinBackoff, opts.MaxBackoff = 5*time.Millisecond, 20*time.Millisecond
	l, err := New(addrs, slog.New(slog.DiscardHandler), opts)
	if err != nil {
		t.Fatal(err)
	}
	sink := &recSink{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = l.Run(ctx, sink)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = l.Close()
	})
	return l, sink
}

func at(off int64) cursor.Position { return cursor.Position{Epoch: 1, Offset: off} }

func TestAcquireSubscribesOnEveryStreamOnce(t *testing.T) {
	l, fans, _ := start(t, 2, Options{})
	ctx := context.Background()

	release1, err := l.Acquire(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range fans {
		// Acquire returned after both acks, so both have the interest.
		if got := f.Interested(7); got != 1 {
			t.Errorf("fanout %d: %d streams interested in 7, want 1", i, got)
		}
	}
	release2, err := l.Acquire(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range fans {
		if got := len(f.Subscribes()); got != 1 {
			t.Errorf("fanout %d got %d Subscribes, want 1 (interest is counted)", i, got)
		}
	}
	release1()
	release1() // only once counts
	for i, f := range fans {
		if got := f.Interested(7); got != 1 {
			t.Errorf("fanout %d lost the interest with a watcher left", i)
		}
	}
	release2()
	for _, f := range fans {
		fanouttest.Eventually(t, "Unsubscribe", func() bool { return f.Interested(7) == 0 })
	}
}

func TestAcquireWaitsForEveryAck(t *testing.T) {
	l, fans, _ := start(t, 2, Options{SubscribeTimeout: time.Minute})
	fans[1].HoldAcks(true)

	got := make(chan error, 1)
	go func() {
		_, err := l.Acquire(context.Background(), 7)
		got <- err
	}()
	fanouttest.Eventually(t, "both Subscribes", func() bool {
		return fans[0].Interested(7) == 1 && fans[1].Interested(7) == 1
	})
	select {
	case err := <-got:
		t.Fatalf("Acquire returned %v before the second ack", err)
	default:
	}
	// A stream that breaks is not waited for: it gets the interest again
	// when it is back.
	fans[1].Drop()
	if err := <-got; err != nil {
		t.Fatalf("Acquire: %v", err)
	}
}

func TestAcquireTimesOut(t *testing.T) {
	l, fans, _ := start(t, 1, Options{SubscribeTimeout: 20 * time.Millisecond})
	fans[0].HoldAcks(true)
	if _, err := l.Acquire(context.Background(), 7); !errors.Is(err, ErrSubscribeTimeout) {
		t.Fatalf("Acquire error %v, want ErrSubscribeTimeout", err)
	}
	fanouttest.Eventually(t, "Unsubscribe after the timeout", func() bool { return fans[0].Interested(7) == 0 })

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Acquire(ctx, 8); !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire with a canceled context: %v, want context.Canceled", err)
	}
}

func TestReconnectResendsInterestAndResyncs(t *testing.T) {
	l, fans, sink := start(t, 2, Options{})
	for _, id := range []int64{3, 4} {
		if _, err := l.Acquire(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	before := len(fans[0].Subscribes())
	fans[0].Drop()
	fanouttest.Eventually(t, "the interest re-sent", func() bool {
		return fans[0].Interested(3) == 1 && fans[0].Interested(4) == 1
	})
	subs := fans[0].Subscribes()[before:]
	if len(subs) != 1 || !slices.Equal(slices.Sorted(slices.Values(subs[0].GetCampaignIds())), []int64{3, 4}) {
		t.Fatalf("Subscribes after reconnect = %v, want one for [3 4]", subs)
	}
	// Two resyncs: when the stream broke (the other one was up, so its
	// instance may be taking over), and when it came back, made ready by
	// the acknowledgement.
	fanouttest.Eventually(t, "the resyncs", func() bool {
		return len(sink.outcomes()) == 2
	})
	if _, resyncs := sink.snapshot(); len(resyncs) != 2 || !slices.Equal(resyncs[0], []int64{3, 4}) || !slices.Equal(resyncs[1], []int64{3, 4}) {
		t.Errorf("resynced %v, want [3 4] twice", resyncs)
	}
	if got := sink.outcomes(); !slices.Equal(got, []string{"0 ready", "1 ready"}) {
		t.Errorf("outcomes %v, want both ready", got)
	}
	if got := len(fans[1].Subscribes()); got != 2 {
		t.Errorf("the stream that stayed up got %d Subscribes, want 2", got)
	}

	// Deliveries flow again, from both instances.
	fans[0].Push(3, at(1), []byte(`{}`))
	fans[1].Push(4, at(2), []byte(`{}`))
	fanouttest.Eventually(t, "two deliveries", func() bool {
		d, _ := sink.snapshot()
		return len(d) == 2
	})
}

func TestRefusedStreamRetries(t *testing.T) {
	l, fans, _ := start(t, 1, Options{})
	fans[0].Refuse(true)
	fans[0].Drop()
	// The stream that was up goes down with the drop; wait for that
	// rather than read Check once. A refused retry never counts as up
	// (TestStreamUpOnceAnswered).
	fanouttest.Eventually(t, "Check to fail with no stream up", func() bool {
		return l.Check(context.Background()) != nil
	})
	fans[0].Refuse(false)
	// A stream the instance holds was not refused, and stays up.
	fanouttest.Eventually(t, "the stream up again", func() bool { return fans[0].Streams() == 1 && l.Up() == 1 })
	if err := l.Check(context.Background()); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func TestSnapshotFailsOver(t *testing.T) {
	l, fans, _ := start(t, 2, Options{})
	for _, f := range fans {
		f.SetCampaign(5, at(9), []byte(`{"type":"campaign_data"}`))
	}
	for range 4 {
		resp, err := l.Snapshot(context.Background(), 5)
		if err != nil || !resp.GetFound() || resp.GetPosition().GetOffset() != 9 {
			t.Fatalf("Snapshot = %v, %v; want found at 9", resp, err)
		}
	}
	if fans[0].Snapshots() == 0 || fans[1].Snapshots() == 0 {
		t.Errorf("snapshots per instance %d and %d, want both used", fans[0].Snapshots(), fans[1].Snapshots())
	}

	fans[0].Refuse(true)
	for range 4 {
		if _, err := l.Snapshot(context.Background(), 5); err != nil {
			t.Fatalf("Snapshot with one instance refusing: %v", err)
		}
	}
	fans[1].Refuse(true)
	if _, err := l.Snapshot(context.Background(), 5); err == nil {
		t.Fatal("Snapshot with every instance refusing = nil error")
	}
}

// TestResyncWaitsForTheAck: a stream that comes back with interest holds its
// resync until the instance acknowledges it, and fails it if the stream
// breaks first.
func TestResyncWaitsForTheAck(t *testing.T) {
	l, fans, sink := start(t, 1, Options{})
	if _, err := l.Acquire(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	fans[0].HoldAcks(true)
	fans[0].Drop()
	fanouttest.Eventually(t, "the resync", func() bool {
		_, resyncs := sink.snapshot()
		return len(resyncs) == 1 && fans[0].Interested(3) == 1
	})
	if got := sink.outcomes(); len(got) != 0 {
		t.Fatalf("outcomes %v before the ack, want none (and no resync when no other stream was up)", got)
	}
	// Acknowledge what arrives from now on before the break: the next
	// session's Subscribe comes a few ms after it, sooner than a test on a
	// busy machine may get to run. This session's stays unanswered.
	fans[0].HoldAcks(false)
	fans[0].Drop() // breaks before acknowledging
	fanouttest.Eventually(t, "the failed resync", func() bool { return len(sink.outcomes()) >= 1 })
	if got := sink.outcomes()[0]; got != "0 "+ErrStreamDown.Error() {
		t.Fatalf("outcome %q, want the stream-down error", got)
	}
	fanouttest.Eventually(t, "the next resync ready", func() bool {
		got := sink.outcomes()
		return len(got) == 2 && got[1] == "1 ready"
	})
}

func TestHistoryFailsOver(t *testing.T) {
	l, fans, _ := start(t, 2, Options{})
	for _, f := range fans {
		f.SetCampaign(5, at(2), []byte(`{"type":"campaign_data"}`))
		f.Record(5, at(3), []byte(`{"type":"comment"}`))
	}
	fans[0].Refuse(true)
	for range 3 {
		resp, err := l.History(context.Background(), 5, at(2))
		if err != nil || !resp.GetComplete() || len(resp.GetDeliveries()) != 1 {
			t.Fatalf("History = %v, %v; want one delivery", resp, err)
		}
	}
}

// A stream is up, for readiness and for reads, only once its instance has
// answered on it: opening one succeeds before the instance has taken it.
func TestStreamUpOnceAnswered(t *testing.T) {
	f := fanouttest.Start(t)
	f.HoldAcks(true)
	l, _ := run(t, []*fanouttest.Server{f}, Options{})
	fanouttest.Eventually(t, "the stream open at the instance", func() bool { return f.Streams() == 1 })
	if got := l.Up(); got != 0 {
		t.Errorf("Up() = %d before the instance answered, want 0", got)
	}
	if err := l.Check(context.Background()); err == nil {
		t.Error("Check passed before the instance answered")
	}
	// The held answer never comes; a new stream's does.
	f.HoldAcks(false)
	f.Drop()
	fanouttest.Eventually(t, "the stream up once answered", func() bool { return l.Up() == 1 })
	if err := l.Check(context.Background()); err != nil {
		t.Errorf("Check: %v", err)
	}
}
