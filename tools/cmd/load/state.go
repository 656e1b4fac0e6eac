package main

import (
	"sync"
	"sync/atomic"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// state is what writers and watchers share. Everything a write needs to be
// recognised is indexed by its sequence number, which the write carries as
// its amount (seq cents): a watcher finds a frame's write with two loads,
// never a lock or a map.
type state struct {
	cfg   *config
	epoch time.Time // every timestamp is nanoseconds since epoch (monotonic)

	campaignIDs []int64
	watchersOf  []int32 // per campaign index: sockets watching it

	maxSeq int64
	seq    atomic.Int64 // last sequence number handed out

	// Per sequence number, 1..maxSeq.
	startNs []atomic.Int64 // write start; 0 until then
	camp    []atomic.Int32 // campaign index + 1; 0 until assigned
	local   []atomic.Int32 // index among its campaign's writes
	ids     []atomic.Int64 // contribution id from the 201
	acked   []atomic.Bool  // the write answered 201
	pending []atomic.Int32 // receipts still due; poisoned negative when the write failed
	waiter  []atomic.Int32 // closed loop: writer index + 1

	nextLocal   []atomic.Int32 // per campaign
	outstanding atomic.Int64   // receipts still due over all writes
	wake        []chan struct{}

	// Latency and throughput count only writes started in [from, to).
	measureFrom atomic.Int64
	measureTo   atomic.Int64

	lat *shardedHist
}

func newState(cfg *config, maxSeq int64) *state {
	n := maxSeq + 1
	return &state{
		cfg: cfg, epoch: time.Now(), maxSeq: maxSeq,
		startNs: make([]atomic.Int64, n), camp: make([]atomic.Int32, n), local: make([]atomic.Int32, n),
		ids: make([]atomic.Int64, n), acked: make([]atomic.Bool, n), pending: make([]atomic.Int32, n),
		waiter: make([]atomic.Int32, n),
		lat:    newShardedHist(16),
	}
}

func (s *state) now() int64 { return int64(time.Since(s.epoch)) }

// inWindow reports whether a write started at ns is measured.
func (s *state) inWindow(ns int64) bool {
	from, to := s.measureFrom.Load(), s.measureTo.Load()
	return from > 0 && ns >= from && (to == 0 || ns < to)
}

// poisoned marks a write whose receipts are no longer expected.
const poisoned = -1 << 28

// received records one watcher's first receipt of seq. It returns false
// when the write is not one a watcher should be counted for.
func (s *state) received(seq int64) {
	if left := s.pending[seq].Add(-1); left >= 0 {
		s.outstanding.Add(-1)
		if left == 0 {
			if w := s.waiter[seq].Load(); w > 0 {
				select {
				case s.wake[w-1] <- struct{}{}:
				default:
				}
			}
		}
	}
}

// shardedHist is a latency histogram in microseconds that many goroutines
// record into without contending on one lock.
type shardedHist struct {
	shards []histShard
}

type histShard struct {
	mu sync.Mutex
	h  *hdr.Histogram
	_  [40]byte // keep shards on separate cache lines
}

const histMaxMicros = 120_000_000 // 2 minutes

func newShardedHist(n int) *shardedHist {
	s := &shardedHist{shards: make([]histShard, n)}
	for i := range s.shards {
		s.shards[i].h = hdr.New(1, histMaxMicros, 3)
	}
	return s
}

func (s *shardedHist) record(shard int, d time.Duration) {
	us := max(int64(d/time.Microsecond), 1)
	sh := &s.shards[shard%len(s.shards)]
	sh.mu.Lock()
	_ = sh.h.RecordValue(min(us, histMaxMicros))
	sh.mu.Unlock()
}

func (s *shardedHist) merged() *hdr.Histogram {
	out := hdr.New(1, histMaxMicros, 3)
	for i := range s.shards {
		s.shards[i].mu.Lock()
		out.Merge(s.shards[i].h)
		s.shards[i].mu.Unlock()
	}
	return out
}

// Latency is a distribution in milliseconds.
type Latency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

func latencyOf(h *hdr.Histogram) Latency {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	if h.TotalCount() == 0 {
		return Latency{}
	}
	return Latency{
		Count: h.TotalCount(),
		P50:   ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)),
		P99: ms(h.ValueAtQuantile(99)), P999: ms(h.ValueAtQuantile(99.9)),
		Max: ms(h.Max()), Mean: h.Mean() / 1000,
	}
}
