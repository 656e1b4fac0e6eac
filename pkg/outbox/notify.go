package outbox

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Waking the relay.
//
// A NOTIFY inside the writing transaction serializes every such commit in
// the database: Postgres takes one lock for the notification queue at
// commit and holds it through the commit's WAL flush, so no two writes
// share a flush. At 1,000 writes/s that lock was the contribution service's
// bottleneck (docs/performance.md, W2). So Write and One.Write notify after
// their commit, from the process's notifier, which sends one NOTIFY for all
// the writes that committed while the previous one was on its way, in a
// transaction of its own that does not wait for its flush: a notification
// needs no durability, and a lost one only leaves the rows to the relay's
// poll.

// asyncCommit, in a statement, lets its transaction commit without
// waiting for the WAL flush: for the notifier's NOTIFYs and the relay's
// deletes, whose loss in a crash costs a poll or a republish, never data.
const asyncCommit = "set_config('synchronous_commit', 'off', true)"

// notifier sends the NOTIFYs of one pool's writes.
type notifier struct {
	pool *pgxpool.Pool

	mu      sync.Mutex
	pending bool // a write committed since the last NOTIFY was sent
	running bool // a goroutine is sending
}

var notifiers sync.Map // *pgxpool.Pool → *notifier

// wake tells the relay, through pool's database, that rows committed. It
// never blocks: the NOTIFY is sent by a goroutine that runs while writes
// keep coming, and exits when they stop.
func wake(pool *pgxpool.Pool) {
	v, ok := notifiers.Load(pool)
	if !ok {
		v, _ = notifiers.LoadOrStore(pool, &notifier{pool: pool})
	}
	n := v.(*notifier)
	n.mu.Lock()
	n.pending = true
	start := !n.running
	n.running = true
	n.mu.Unlock()
	if start {
		go n.run()
	}
}

func (n *notifier) run() {
	for {
		n.mu.Lock()
		if !n.pending {
			n.running = false
			n.mu.Unlock()
			return
		}
		n.pending = false
		n.mu.Unlock()
		// Sent after the writes that set pending committed, so the drain
		// it triggers sees their rows.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _ = n.pool.Exec(ctx, `SELECT `+asyncCommit+`, pg_notify($1, '')`, channel)
		cancel()
	}
}
