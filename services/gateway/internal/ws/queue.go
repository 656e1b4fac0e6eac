package ws

import (
	"sync"

	"github.com/campaign-live/campaign-live/services/gateway/internal/hub"
)

// sendQueue is a socket's bounded queue of frames, and the turn of its
// writer. It holds no memory while empty: the channel of SEND_QUEUE slots it
// replaces cost every socket 2 KiB of live heap, idle or not, about a tenth
// of an idle socket's memory (docs/performance.md, W3). The writer takes
// everything waiting at once, which is also what lets it send a batch with
// one write.
//
// A socket has a writer only while frames wait: the push that finds no
// writer starts one, and the writer's turn ends at the take that finds the
// queue empty. An idle socket so keeps no writer goroutine, whose stack was
// the largest part of its memory. Both decisions are made under one lock,
// so a frame never waits with no writer to take it, and never two writers
// run. Once closed, the queue takes no frames and starts no writer, and
// whoever sees the socket shut with no writer (close, or the last writer's
// take) finishes it: exactly one of them.
type sendQueue struct {
	mu      sync.Mutex
	frames  []*hub.Frame
	spare   []*hub.Frame // the last turn's batch slice, empty, for the next
	max     int
	writing bool // a writer has its turn
	closed  bool
	// wake, while the writer lingers on an empty queue (see next), is
	// signalled by the next push or close.
	wake chan struct{}
}

// newSendQueue returns a queue whose caller has the writer's turn: the
// joining goroutine, which writes the opening frames before anything
// queued.
func newSendQueue(max int) *sendQueue {
	return &sendQueue{max: max, writing: true}
}

// push appends f, or reports false when max frames are waiting already.
// start says that no writer has the turn: the caller must start one. A
// closed queue drops f.
func (q *sendQueue) push(f *hub.Frame) (ok, start bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.closed:
		return true, false
	case len(q.frames) >= q.max:
		return false, false
	}
	q.frames = append(q.frames, f)
	start = !q.writing
	q.writing = true
	q.signal()
	return true, start
}

// signal wakes a lingering writer; the caller holds mu.
func (q *sendQueue) signal() {
	if q.wake != nil {
		select {
		case q.wake <- struct{}{}:
		default: // signalled already
		}
	}
}

// next is take for a writer that would rather linger than end its turn on
// an empty queue: with wake non-nil and nothing waiting, it keeps the turn,
// has the next push or close signal wake, and returns spent emptied with
// lingering true. The writer then waits on wake, and calls endLinger when
// it tires. A busy socket's writer so lives across batches instead of a
// goroutine being started, and its stack grown, for each one: those were a
// tenth of the gateway's CPU in W1. With wake nil, next is take.
func (q *sendQueue) next(spent []*hub.Frame, wake chan struct{}) (batch []*hub.Frame, finish, lingering bool) {
	if wake != nil {
		q.mu.Lock()
		if !q.closed && len(q.frames) == 0 {
			q.wake = wake
			q.mu.Unlock()
			clear(spent)
			return spent[:0], false, true
		}
		q.wake = nil
		q.mu.Unlock()
	}
	batch, finish = q.take(spent)
	return batch, finish, false
}

// endLinger stops lingering: it is take, which ends the turn unless frames
// came meanwhile.
func (q *sendQueue) endLinger(spent []*hub.Frame) (batch []*hub.Frame, finish bool) {
	q.mu.Lock()
	q.wake = nil
	q.mu.Unlock()
	return q.take(spent)
}

// reuseCap is the largest batch slice kept for the next batch; a burst's
// larger one goes back to the collector, so a quiet socket stays small.
// Between writers' turns the queue keeps its two slices only up to idleCap:
// a few bytes, and no allocation per frame for a socket that gets one at a
// time.
const (
	reuseCap = 64
	idleCap  = 16
)

// take returns every waiting frame, in order, and empties the queue. spent
// is the slice the previous take returned, written and done with: it is
// cleared and kept for reuse, so a busy socket allocates no batch slices.
//
// When no frame waits, or the queue is closed, take returns none and the
// writer's turn ends; finish then says the queue was closed, which makes
// this writer, the last, the one to finish the socket.
func (q *sendQueue) take(spent []*hub.Frame) (batch []*hub.Frame, finish bool) {
	clear(spent)
	if cap(spent) > reuseCap {
		spent = nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.wake = nil
	if q.closed {
		q.writing = false
		q.frames, q.spare = nil, nil
		return nil, true
	}
	if len(q.frames) == 0 {
		q.writing = false
		if cap(q.frames) > idleCap {
			q.frames = nil
		}
		if cap(spent) <= idleCap {
			q.spare = spent[:0]
		}
		return nil, false
	}
	if spent == nil { // a turn's first take
		spent, q.spare = q.spare, nil
	}
	batch = q.frames
	q.frames = spent[:0:cap(spent)]
	return batch, false
}

// quit ends the writer's turn early, the socket being shut; finish is as
// for take.
func (q *sendQueue) quit() (finish bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.writing = false
	return q.closed
}

// close drops what waits and takes nothing more. idle says that no writer
// has the turn: the caller must finish the socket, as no writer will.
func (q *sendQueue) close() (idle bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	q.closed = true
	q.frames, q.spare = nil, nil
	q.signal() // a lingering writer finishes the socket
	return !q.writing
}

// len is the number of frames waiting.
func (q *sendQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.frames)
}
