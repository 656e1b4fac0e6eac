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
	fail map[int64]int           // offset -> fetches that fail before it comes
	gate map[int64]chan struct{} // offset -> closed when it may come
	done chan struct{}           // closed when every message was fetched
	// finished is closed when the last message was committed.
	finished chan struct{}
	last     int64
}

// newReader hands out msgs.
func newReader(j *journal, msgs ...kafka.Message) *fakeReader {
	return &fakeReader{j: j, msgs: msgs, done: make(chan struct{}), finished: make(chan struct{}), last: msgs[len(msgs)-1].Offset}
}

func (r *fakeReader) FetchMessage(ctx context.Context) (kafka.Message, error) {
	if len(r.msgs) > 0 && r.gate[r.msgs[0].Offset] != nil {
		select {
		case <-r.gate[r.msgs[0].Offset]:
		case <-ctx.Done():
			return kafka.Message{}, ctx.Err()
		}
	}
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
		if m.Offset == r.last {
			close(r.finished)
		}
	}
	return nil
}

// fakeViews applies by script: failures[offset] errors to return first,
// for the whole batch unless they wrap event.ErrInvalid (then for that
// record only, as view.Store does).
type fakeViews struct {
	j        *journal
	failures map[int64][]error
	dup      map[int64]bool
	// batches receives each batch's offsets before it is applied, when
	// set; then release lets it go on.
	batches chan []int64
	release chan struct{}
}

func (v *fakeViews) ApplyBatch(_ context.Context, recs []view.Record) ([]view.Result, error) {
	if v.batches != nil {
		offsets := make([]int64, len(recs))
		for i, r := range recs {
			offsets[i] = r.At.Offset
		}
		v.batches <- offsets
		<-v.release
	}
	for _, r := range recs {
		if errs := v.failures[r.At.Offset]; len(errs) > 0 && !errors.Is(errs[0], event.ErrInvalid) {
			v.failures[r.At.Offset] = errs[1:]
			v.j.add("apply %d failed", r.At.Offset)
			return nil, errs[0]
		}
	}
	results := make([]view.Result, len(recs))
	for i, r := range recs {
		e, pos := r.Event, r.At
		if errs := v.failures[pos.Offset]; len(errs) > 0 {
			v.failures[pos.Offset] = errs[1:]
			v.j.add("apply %d failed", pos.Offset)
			results[i].Err = errs[0]
			continue
		}
		v.j.add("apply %d epoch %d", pos.Offset, pos.Epoch)
		results[i] = view.Result{Duplicate: v.dup[pos.Offset], Position: pos}
		if e.GetType() != event.TypeCampaign {
			results[i].Delivery = &view.Delivery{CampaignID: e.GetCampaignId(), Position: pos, EventID: e.GetId()}
		}
	}
	return results, nil
}

type fakeHub struct {
	j   *journal
	got chan *campaignv1.Delivery // receives every delivery, when set
}

func (h fakeHub) Publish(_ context.Context, d *campaignv1.Delivery) error {
	h.j.add("publish %d", d.GetPosition().GetOffset())
	if h.got != nil {
		h.got <- d
	}
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

// run consumes msgs one per batch until all were fetched and handled, and
// returns the journal.
func run(t *testing.T, msgs []kafka.Message, views *fakeViews) string {
	t.Helper()
	j := views.j
	r := newReader(j, msgs...)
	c := New(r, views, fakeHub{j: j}, Config{Epoch: 7, MaxBatch: 1}, quiet)
	c.retryMax = time.Millisecond
	runUntilFinished(t, c, r, j)
	return j.String()
}

// runUntilFinished runs c until r has handed out and seen committed every
// record, then stops it, which must end Run without an error.
func runUntilFinished(t *testing.T, c *Consumer, r *fakeReader, j *journal) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	select {
	case <-r.finished:
	case <-time.After(10 * time.Second):
		t.Fatalf("the consumer did not handle every record:\n%s", j)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run = %v, want nil after cancel", err)
	}
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
	r := newReader(j, record(t, 10, comment()))
	c := New(r, views, fakeHub{j: j}, Config{Epoch: 1}, quiet)
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
	r := newReader(j, record(t, 10, comment()))
	r.fail = map[int64]int{10: 3}
	c := New(r, &fakeViews{j: j}, fakeHub{j: j}, Config{Epoch: 7}, quiet)
	c.retryMax = time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	select {
	case <-r.finished:
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

// TestBatchesFormWhileApplying: records fetched while a batch is being
// applied make up the next batch, applied in one call, published in topic
// order and committed together after every publish.
func TestBatchesFormWhileApplying(t *testing.T) {
	j := &journal{}
	var msgs []kafka.Message
	for o := int64(10); o <= 14; o++ {
		msgs = append(msgs, record(t, o, comment()))
	}
	r := newReader(j, msgs...)
	applying := make(chan struct{})
	r.gate = map[int64]chan struct{}{11: applying} // 11 comes only once 10 is being applied
	views := &fakeViews{j: j, batches: make(chan []int64), release: make(chan struct{})}
	c := New(r, views, fakeHub{j: j}, Config{Epoch: 7, MaxBatch: 100}, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()

	next := func() []int64 {
		select {
		case b := <-views.batches:
			return b
		case <-time.After(10 * time.Second):
			t.Fatalf("no batch applied:\n%s", j)
			return nil
		}
	}
	if got := next(); fmt.Sprint(got) != "[10]" {
		t.Fatalf("first batch %v, want [10]: a lone record goes at once", got)
	}
	close(applying)
	<-r.done // 11..14 are fetched while 10 is applied
	views.release <- struct{}{}
	if got := next(); fmt.Sprint(got) != "[11 12 13 14]" {
		t.Fatalf("second batch %v, want [11 12 13 14]: what was fetched meanwhile", got)
	}
	views.release <- struct{}{}
	select {
	case <-r.finished:
	case <-time.After(10 * time.Second):
		t.Fatalf("the last batch was not committed:\n%s", j)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run = %v, want nil after cancel", err)
	}
	want := strings.Join([]string{
		"apply 10 epoch 7", "publish 10", "commit 10",
		"apply 11 epoch 7", "apply 12 epoch 7", "apply 13 epoch 7", "apply 14 epoch 7",
		"publish 11", "publish 12", "publish 13", "publish 14",
		"commit 11", "commit 12", "commit 13", "commit 14",
	}, "\n")
	if got := j.String(); got != want {
		t.Fatalf("effects\n%s\nwant\n%s", got, want)
	}
	if got := c.Next(); len(got) != 1 || got[2] != 15 {
		t.Fatalf("Next() = %v, want partition 2 at 15", got)
	}
}
