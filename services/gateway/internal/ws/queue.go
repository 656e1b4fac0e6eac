package ws

import (
	"sync"

	"github.com/campaign-live/campaign-live/services/gateway/internal/hub"
)

// sendQueue is a socket's bounded queue of frames for its writer. It holds
// no memory while empty: the channel of SEND_QUEUE slots it replaces cost
// every socket 2 KiB of live heap, idle or not, about a tenth of an idle
// socket's memory (docs/performance.md, W3). The writer takes everything
// waiting at once, which is also what lets it send a batch with one write.
type sendQueue struct {
	mu     sync.Mutex
	frames []*hub.Frame
	max    int
	// ready holds a token while frames wait; push gives it, the writer
	// takes it and then the frames.
	ready chan struct{}
}

func newSendQueue(max int) *sendQueue {
	return &sendQueue{max: max, ready: make(chan struct{}, 1)}
}

// push appends f, or reports false when max frames are waiting already.
func (q *sendQueue) push(f *hub.Frame) bool {
	q.mu.Lock()
	if len(q.frames) >= q.max {
		q.mu.Unlock()
		return false
	}
	q.frames = append(q.frames, f)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default: // the writer has a token already
	}
	return true
}

// reuseCap is the largest batch slice kept for the next batch; a burst's
// larger one goes back to the collector, so a quiet socket stays small.
const reuseCap = 64

// take returns every waiting frame, in order, and empties the queue. spent
// is the slice the previous take returned, written and done with: it is
// cleared and kept for reuse, so a busy socket allocates no batch slices.
func (q *sendQueue) take(spent []*hub.Frame) []*hub.Frame {
	clear(spent)
	if cap(spent) > reuseCap {
		spent = nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.frames
	q.frames = spent[:0:cap(spent)]
	if cap(spent) == 0 {
		q.frames = nil
	}
	return out
}

// len is the number of frames waiting.
func (q *sendQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.frames)
}
