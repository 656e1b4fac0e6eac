// Package fanoutlink is the gateway's side of the Fanout gRPC service: one
// Watch stream per fanout instance, the interest set shared by all of them,
// and Snapshot reads.
//
// # Interest
//
// Interest is counted per campaign. The first Acquire of a campaign sends
// Subscribe{seq, [id]} on every stream that is up and waits until each of
// them has answered Subscribed{seq} (or broken) — the interest is then in
// force everywhere, so a snapshot read afterwards cannot miss an event
// (fanout.proto). Later Acquires of the same campaign wait on the same
// acknowledgement. The last release sends Unsubscribe. A stream that is down
// is not waited for: it gets the whole interest set when it connects.
//
// # Streams
//
// Each stream runs a loop: open Watch, send Subscribe with every watched
// campaign, then receive until it breaks; back off with jitter and start
// again. Events may have been missed while a stream was away, so on
// connecting the Sink is asked to Resync every watched campaign, and the
// resync is made ready when the re-sent interest is acknowledged (failed if
// the stream breaks first). When a stream breaks while another is up, every
// watched campaign is resynced at once: its instance may have committed
// events it never sent, and another may be taking over its partitions.
// Deliveries go to the Sink on the stream's receiving goroutine, in stream
// order, with the stream's index. Snapshot and History read from any
// instance (they share one database).
//
// # Concurrency
//
// One mutex guards the interest set, the sequence numbers and each stream's
// session state (its outbound queue and pending acknowledgements). Requests
// are queued under it and sent by the session's own sending goroutine, so a
// stream that stops reading never blocks Acquire. Snapshot is lock-free: it
// tries the streams round robin, those that are up first.
//
// # Lifecycle
//
// New dials nothing (grpc.NewClient is lazy). Run starts the streams and
// returns when its context ends; Close releases the connections after Run
// has returned.
package fanoutlink
