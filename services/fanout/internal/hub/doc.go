// Package hub routes applied events to the gateway streams that watch their
// campaign.
//
// # Model
//
// A gateway keeps one Watch stream per fanout instance. The hub keeps, per
// stream, an interest set and a bounded queue of messages (Subscribed acks
// and deliveries) in the order they were produced, and an index from
// campaign to interested streams.
//
// # Concurrency
//
// The index is guarded by one RWMutex: Subscribe and Unsubscribe take it to
// write, Publish to read just long enough to copy the targets. Queues are
// channels: Publish (the consumer's goroutine) and Subscribe (a stream's
// receiving goroutine) write them, the stream's sending goroutine drains
// them. Publish is called from one goroutine, so every stream sees the
// deliveries in topic order.
//
// # Ordering with snapshots
//
// Subscribe makes the interest visible to Publish before it queues the ack.
// A delivery published after that reaches the stream; one published before
// was committed before the ack, so a snapshot read after the ack holds it.
// Deliveries of a campaign may precede its ack in the queue; gateways may
// drop them (their snapshot holds them) or keep them.
//
// # Back-pressure and lifecycle
//
// Publish never drops. A full queue makes it wait, holding back the
// consumer. The stall clock starts when the publisher first finds a stream's
// queue full and stops once the queue is back to half (as the publisher
// queues, or as the stream's sender takes a message); a stream still behind
// when it reaches the stall timeout is ended with ErrStalled, and its
// gateway must reconnect and resync. A stream ends when its handler calls
// Leave, when it stalls, or when Close shuts the hub down (ErrClosed); Done
// is closed then, and the handler returns.
package hub
