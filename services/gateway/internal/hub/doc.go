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
// A fanout stream that broke may have carried events the sockets never got,
// and the gateway cannot tell which campaigns live on that instance's
// partitions. When a stream is back and has acknowledged the interest again,
// Reconnected puts a Barrier frame into every socket of every watched
// campaign, in order with deliveries, then reads a fresh snapshot of each
// campaign. A socket's writer that reaches the barrier waits for that
// snapshot, writes its campaign_data frame and continues with the events
// after it. This is correct because fanout pushes an event only after the
// view holding it is committed: every event dispatched before the barrier is
// in the snapshot, and every event not in it is dispatched after the barrier.
// Exact resume from history can later replace the fresh campaign_data here.
//
// # Concurrency
//
// The room index is guarded by an RWMutex (Dispatch reads, Attach and
// Detach write); each room has a mutex held while a frame is offered to its
// subscribers, so frames of one campaign reach every queue in one order even
// when two fanout streams dispatch at once. Lock order: index, then room.
//
// # Lifecycle
//
// New needs nothing running. Rooms appear with their first subscriber and
// go with their last. Resync snapshots run on goroutines bounded per call to
// Reconnected and end with the context given to it.
package hub
