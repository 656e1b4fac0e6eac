// Package hub keeps, per campaign, the set of sockets watching it on this
// gateway, and hands each delivery from the fanout streams to all of them.
//
// # Model
//
// A room is one campaign's watcher set. Dispatch turns a delivery into one
// Frame holding one websocket.PreparedMessage (the frame bytes encoded once
// for every socket) and offers the same *Frame to every subscriber of the
// room. Offering must not block: a Subscriber has a bounded queue and, when
// it is full, closes itself (slow consumer) instead of waiting. So a
// delivery costs one Frame and one PreparedMessage per gateway, and nothing
// per socket but a channel send; no goroutine is started per delivery.
//
// A room remembers the last position it dispatched and drops a delivery at
// or before it: after a partition moves between fanout instances both may
// push the same events. Positions of one campaign only grow (cursor
// package), so such a delivery is always a duplicate. Each socket filters
// again against what it has sent itself (its snapshot position first),
// which is what makes the join protocol exact; see package ws.
//
// # Resync
//
// A socket may miss events in three ways, and each puts a Barrier frame into
// the sockets concerned, in order with deliveries:
//
//   - a fanout stream (re)connected: events may have been committed while it
//     was away. The barrier goes in before the stream's first delivery and
//     becomes ready when the re-sent interest is acknowledged;
//   - a stream broke while another is up: the broken instance may have
//     committed events it never sent, and its partitions may move. Ready at
//     once (the events are committed), for every watched campaign;
//   - a campaign's deliveries switch from one stream to another (its
//     partition moved): the old owner may have committed events this gateway
//     never got. Ready at once, before the first delivery from the new one.
//
// A writer that reaches a barrier calls Resync.Catchup with the last
// position it has sent, and writes what comes back: the events after it
// from history, or one fresh Snapshot when history does not reach back.
// This is exact because fanout pushes an event only after it is committed:
// what was dispatched before the barrier is either written already or in
// history, and whatever commits later is dispatched after the barrier and
// filtered by position. Sockets at the same position share one read.
//
// # Concurrency
//
// The room index is guarded by an RWMutex (Dispatch reads, Attach and
// Detach write); each room has a mutex held while a frame is offered to its
// subscribers, so frames of one campaign reach every queue in one order even
// when two fanout streams dispatch at once. Lock order: index, then room.
//
// # Tracing
//
// Deliver starts one span per delivery, "websocket send" (kind producer),
// a child of fanout's span that the delivery's traceparent names, and ends
// it once the frame is offered to every subscriber of the room: a trace
// runs from the REST request through Kafka and fanout to this gateway's
// queues. It is per delivery, not per socket.
//
// # Lifecycle
//
// New needs nothing running. Rooms appear with their first subscriber and
// go with their last. Catch-up reads run on their own goroutines, one per
// distinct position per barrier, each under a timeout.
package hub
