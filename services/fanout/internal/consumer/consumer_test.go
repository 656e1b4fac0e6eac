package consumer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/campaign-live/campaign-live/pkg/cursor"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/pb/campaignv1"
	"github.com/campaign-live/campaign-live/services/fanout/internal/view"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// journal records every effect in order, across the fakes.
type journal struct {
	mu    sync.Mutex
	lines []string
}

func (j *journal) add(format string, args ...any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.lines = append(j.lines, fmt.Sprintf(format, args...))
}

func (j *journal) String() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return strings.Join(j.lines, "\n")
}

// fakeReader hands out msgs (failing first where fail says), then blocks
// until ctx ends.
type fakeReader struct {
	j    *journal
	msgs []kafka.Message
	fail map[int64]int // offset -> fetches that fail before it comes
	done chan struct{} // closed when every message was fetched
}

func (r *fakeReader) FetchMessage(ctx context.Context) (kafka.Message, error) {
	if len(r.msgs) > 0 && r.fail[r.msgs[0].Offset] > 0 {
		r.fail[r.msgs[0].Offset]--
		r.j.add("fetch failed")
		return kafka.Message{}, errors.New("failed to dial: connection refused")
	}
	if len(r.msgs) == 0 {
		close(r.done)
		<-ctx.Done()
		return kafka.Message{}, ctx.Err()
	}
	m := r.msgs[0]
	r.msgs = r.msgs[1:]
	return m, nil
}

func (r *fakeReader) CommitMessages(_ context.Context, msgs ...kafka.Message) error {
	for _, m := range msgs {
		r.j.add("commit %d", m.Offset)
	}
	return nil
}

// fakeViews applies by script: failures[offset] errors to return first.
type fakeViews struct {
	j        *journal
	failures map[int64][]error
	dup      map[int64]bool
}

func (v *fakeViews) Apply(_ context.Context, e *campaignv1.Event, pos cursor.Position) (view.Result, error) {
	if errs := v.failures[pos.Offset]; len(errs) > 0 {
		v.failures[pos.Offset] = errs[1:]
		v.j.add("apply %d failed", pos.Offset)
		return view.Result{}, errs[0]
	}
	v.j.add("apply %d epoch %d", pos.Offset, pos.Epoch)
	if e.GetType() == event.TypeCampaign {
		return view.Result{}, nil
	}
	return view.Result{Duplicate: v.dup[pos.Offset], Delivery: &view.Delivery{CampaignID: e.GetCampaignId(), Position: pos}}, nil
}

type fakeHub struct{ j *journal }

func (h fakeHub) Publish(_ context.Context, d *campaignv1.Delivery) error {
	h.j.add("publish %d", d.GetPosition().GetOffset())
	return nil
}

// record is a topic record at offset holding payload's event, or garbage
// when payload is nil.
func record(t *testing.T, offset int64, payload proto.Message) kafka.Message {
	t.Helper()
	if payload == nil {
		return kafka.Message{Partition: 2, Offset: offset, Value: []byte("not an event")}
	}
	e, err := event.New("test", 42, time.Now(), payload)
	if err != nil {
		t.Fatal(err)
	}
	b, err := event.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return kafka.Message{Partition: 2, Offset: offset, Value: b}
}

func comment() *campaignv1.Comment {
	return &campaignv1.Comment{Id: 1, CampaignId: 42, Content: "hi", CreatedAt: timestamppb.Now()}
}

// run consumes msgs until all were fetched and handled, and returns the
// journal.
func run(t *testing.T, msgs []kafka.Message, views *fakeViews) string {
	t.Helper()
	j := views.j
	r := &fakeReader{j: j, msgs: msgs, done: make(chan struct{})}
	c := New(r, views, fakeHub{j: j}, 7, quiet)
	c.retryMax = time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the consumer did not fetch every record")
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run = %v, want nil after cancel", err)
	}
	return j.String()
}

func TestOrderOfEffects(t *testing.T) {
	j := &journal{}
	got := run(t, []kafka.Message{
		record(t, 10, comment()),
		record(t, 11, &campaignv1.Campaign{Id: 42}),
	}, &fakeViews{j: j})
	want := strings.Join([]string{
		"apply 10 epoch 7", "publish 10", "commit 10",
		"apply 11 epoch 7", "commit 11", // a campaign event has nothing to push
	}, "\n")
	if got != want {
		t.Fatalf("effects\n%s\nwant\n%s", got, want)
	}
}

func TestDuplicatesArePushedAgain(t *testing.T) {
	j := &journal{}
	got := run(t, []kafka.Message{record(t, 10, comment())}, &fakeViews{j: j, dup: map[int64]bool{10: true}})
	if want := "apply 10 epoch 7\npublish 10\ncommit 10"; got != want {
		t.Fatalf("effects\n%s\nwant\n%s", got, want)
	}
}

func TestPoisonRecordsAreSkipped(t *testing.T) {
	j := &journal{}
	got := run(t, []kafka.Message{
		record(t, 10, nil),
		record(t, 11, comment()),
		record(t, 12, comment()),
	}, &fakeViews{j: j, failures: map[int64][]error{11: {fmt.Errorf("bad amount: %w", event.ErrInvalid)}}})
	want := strings.Join([]string{
		"commit 10",
		"apply 11 failed", "commit 11",
		"apply 12 epoch 7", "publish 12", "commit 12",
	}, "\n")
	if got != want {
		t.Fatalf("effects\n%s\nwant\n%s", got, want)
	}
}

func TestTransientFailuresAreRetried(t *testing.T) {
	j := &journal{}
	down := errors.New("connection refused")
	got := run(t, []kafka.Message{record(t, 10, comment())},
		&fakeViews{j: j, failures: map[int64][]error{10: {down, down}}})
	want := strings.Join([]string{
		"apply 10 failed", "apply 10 failed", "apply 10 epoch 7", "publish 10", "commit 10",
	}, "\n")
	if got != want {
		t.Fatalf("effects\n%s\nwant\n%s", got, want)
	}
}

// TestStopMidRetry: a consumer stopped while the database is down returns
// without committing, so the next owner replays the record.
func TestStopMidRetry(t *testing.T) {
	j := &journal{}
	down := errors.New("connection refused")
	views := &fakeViews{j: j, failures: map[int64][]error{10: {down, down, down, down, down, down, down, down}}}
	r := &fakeReader{j: j, msgs: []kafka.Message{record(t, 10, comment())}, done: make(chan struct{})}
	c := New(r, views, fakeHub{j: j}, 1, quiet)
	c.retryMax = 20 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Millisecond)
	defer cancel()
	if err := c.Run(ctx); err != nil {
		t.Fatalf("Run = %v, want nil on cancel", err)
	}
	if strings.Contains(j.String(), "commit") {
		t.Fatalf("committed a record that was never applied:\n%s", j)
	}
}

// TestFetchFailuresAreRetried: a broker that is away makes fetches fail; the
// consumer waits and fetches again instead of stopping the service.
func TestFetchFailuresAreRetried(t *testing.T) {
	j := &journal{}
	r := &fakeReader{j: j, msgs: []kafka.Message{record(t, 10, comment())}, fail: map[int64]int{10: 3}, done: make(chan struct{})}
	c := New(r, &fakeViews{j: j}, fakeHub{j: j}, 7, quiet)
	c.retryMax = time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	select {
	case <-r.done:
	case err := <-errc:
		t.Fatalf("Run = %v before the broker came back", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the consumer did not fetch again")
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run = %v, want nil after cancel", err)
	}
	want := "fetch failed\nfetch failed\nfetch failed\napply 10 epoch 7\npublish 10\ncommit 10"
	if got := j.String(); got != want {
		t.Fatalf("effects\n%s\nwant\n%s", got, want)
	}
}
