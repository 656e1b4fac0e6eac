package ws

import (
	"testing"

	"github.com/campaign-live/campaign-live/services/gateway/internal/hub"
)

func TestSendQueueKeepsOrderAndBound(t *testing.T) {
	q := newSendQueue(3)
	frames := []*hub.Frame{{}, {}, {}, {}}
	for i, f := range frames[:3] {
		if !q.push(f) {
			t.Fatalf("push %d refused below the bound", i)
		}
	}
	if q.push(frames[3]) {
		t.Fatal("push past the bound accepted: a slow client must be closed, not buffered for")
	}
	select {
	case <-q.ready:
	default:
		t.Fatal("no ready token with frames waiting")
	}
	got := q.take(nil)
	if len(got) != 3 || got[0] != frames[0] || got[2] != frames[2] || q.len() != 0 {
		t.Fatalf("take = %v (len %d left), want the three frames in order", got, q.len())
	}
	if !q.push(frames[3]) {
		t.Fatal("push refused after the queue was emptied")
	}
	again := q.take(got)
	if len(again) != 1 || again[0] != frames[3] {
		t.Fatalf("second take = %v", again)
	}
	if got[0] != nil {
		t.Error("a spent batch still holds its frames")
	}
}

func TestSendQueueHoldsNothingWhenIdle(t *testing.T) {
	q := newSendQueue(256)
	if cap(q.frames) != 0 {
		t.Fatalf("a new queue holds %d slots", cap(q.frames))
	}
	big := make([]*hub.Frame, 0, reuseCap+1)
	for range reuseCap + 1 {
		q.push(&hub.Frame{})
	}
	big = q.take(big)
	q.take(big) // a burst's big batch is not kept
	if cap(q.frames) != 0 {
		t.Errorf("after a burst the idle queue keeps %d slots", cap(q.frames))
	}
}
