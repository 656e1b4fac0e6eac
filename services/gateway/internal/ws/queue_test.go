package ws

import (
	"testing"

	"github.com/campaign-live/campaign-live/services/gateway/internal/hub"
)

func TestSendQueueKeepsOrderAndBound(t *testing.T) {
	q := newSendQueue(3) // the test has the writer's turn, as the join does
	frames := []*hub.Frame{{}, {}, {}, {}}
	for i, f := range frames[:3] {
		if ok, start := q.push(f); !ok || start {
			t.Fatalf("push %d = %v, %v; want accepted, with the writer running already", i, ok, start)
		}
	}
	if ok, _ := q.push(frames[3]); ok {
		t.Fatal("push past the bound accepted: a slow client must be closed, not buffered for")
	}
	got, _ := q.take(nil)
	if len(got) != 3 || got[0] != frames[0] || got[2] != frames[2] || q.len() != 0 {
		t.Fatalf("take = %v (len %d left), want the three frames in order", got, q.len())
	}
	if ok, _ := q.push(frames[3]); !ok {
		t.Fatal("push refused after the queue was emptied")
	}
	again, _ := q.take(got)
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
	big, _ = q.take(big)
	q.take(big) // a burst's big batch is not kept
	if cap(q.frames) != 0 {
		t.Errorf("after a burst the idle queue keeps %d slots", cap(q.frames))
	}
	for range idleCap + 1 {
		q.push(&hub.Frame{})
	}
	batch, _ := q.take(nil)
	q.take(batch) // empty: the turn ends
	if n := cap(q.frames) + cap(q.spare); n != 0 {
		t.Errorf("between turns the queue keeps %d slots of its last batches, want at most %d", n, idleCap)
	}
}

// A writer runs only while frames wait: the push to a drained queue starts
// one, and no push starts a second while one has the turn.
func TestSendQueueWriterTurns(t *testing.T) {
	q := newSendQueue(8)
	if batch, finish := q.take(nil); batch != nil || finish {
		t.Fatalf("take of an empty open queue = %v, %v; want nothing, the turn over", batch, finish)
	}
	steps := []struct {
		name      string
		wantStart bool
	}{
		{"first push to an idle queue", true},
		{"push while the writer has the turn", false},
	}
	for _, s := range steps {
		if ok, start := q.push(&hub.Frame{}); !ok || start != s.wantStart {
			t.Fatalf("%s: start = %v, want %v", s.name, start, s.wantStart)
		}
	}
	if batch, _ := q.take(nil); len(batch) != 2 {
		t.Fatalf("took %d frames, want 2", len(batch))
	}
	if ok, start := q.push(&hub.Frame{}); !ok || start {
		t.Fatal("a push between a writer's takes started another writer")
	}
	q.take(nil)
	q.take(nil) // drained: the turn ends
	if _, start := q.push(&hub.Frame{}); !start {
		t.Fatal("a push after the turn ended started no writer: the frame would wait forever")
	}
}

// Whoever sees the queue closed with no writer finishes the socket: close
// when the queue is idle, the writer's next take or quit when it runs;
// never both, and a closed queue starts no writer.
func TestSendQueueCloseFinishesOnce(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		q := newSendQueue(8)
		q.take(nil)
		if idle := q.close(); !idle {
			t.Fatal("close of an idle queue left the finish to a writer that does not exist")
		}
		if q.close() {
			t.Error("a second close would finish the socket again")
		}
		if ok, start := q.push(&hub.Frame{}); !ok || start || q.len() != 0 {
			t.Errorf("push to a closed queue: ok %v, start %v, %d waiting; want dropped", ok, start, q.len())
		}
	})
	t.Run("writing", func(t *testing.T) {
		q := newSendQueue(8)
		q.push(&hub.Frame{})
		if idle := q.close(); idle {
			t.Fatal("close with a writer running finished the socket under it")
		}
		batch, finish := q.take(nil)
		if batch != nil || !finish {
			t.Fatalf("the writer's take after close = %d frames, finish %v; want none, finish", len(batch), finish)
		}
	})
	t.Run("quit", func(t *testing.T) {
		q := newSendQueue(8)
		q.close()
		if !q.quit() {
			t.Fatal("the writer quitting a closed queue did not finish the socket")
		}
	})
}

// A socket that gets a frame at a time, a writer's turn each, allocates no
// slices for it.
func TestSendQueueTurnsAllocateNothing(t *testing.T) {
	q := newSendQueue(8)
	f := &hub.Frame{}
	turn := func() {
		q.push(f)
		batch, _ := q.take(nil)
		q.take(batch)
	}
	turn()
	if n := testing.AllocsPerRun(100, turn); n != 0 {
		t.Errorf("a turn allocates %v times, want 0", n)
	}
}

// A writer that lingers on an empty queue keeps the turn: a push wakes it
// instead of starting another writer, a close wakes it to finish the
// socket, and when it stops lingering on an empty queue its turn ends.
func TestSendQueueLingeringWriter(t *testing.T) {
	q := newSendQueue(8) // the test has the writer's turn
	wake := make(chan struct{}, 1)
	if _, _, lingering := q.next(nil, wake); !lingering {
		t.Fatal("next on an empty queue with a wake channel did not linger")
	}
	if ok, start := q.push(&hub.Frame{}); !ok || start {
		t.Fatalf("push to a lingering writer: ok %v, start %v; want accepted, no second writer", ok, start)
	}
	select {
	case <-wake:
	default:
		t.Fatal("the push did not wake the lingering writer")
	}
	if batch, _, lingering := q.next(nil, wake); len(batch) != 1 || lingering {
		t.Fatalf("next after the push = %d frames, lingering %v; want the frame", len(batch), lingering)
	}

	if _, _, lingering := q.next(nil, wake); !lingering {
		t.Fatal("did not linger again")
	}
	if batch, finish := q.endLinger(nil); batch != nil || finish {
		t.Fatalf("endLinger on an empty open queue = %v, %v; want the turn over", batch, finish)
	}
	if _, start := q.push(&hub.Frame{}); !start {
		t.Fatal("after the lingering writer left, a push did not start a writer")
	}

	q2 := newSendQueue(8)
	q2.next(nil, wake)
	if idle := q2.close(); idle {
		t.Fatal("close reported no writer while one lingers")
	}
	select {
	case <-wake:
	default:
		t.Fatal("close did not wake the lingering writer")
	}
	if _, finish, _ := q2.next(nil, wake); !finish {
		t.Fatal("the woken writer was not told to finish the closed socket")
	}
}
