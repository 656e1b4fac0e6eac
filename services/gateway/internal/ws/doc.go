// Package ws serves the browser's WebSocket, /ws/campaign/{id}/ (DESIGN.md
// §2): the handshake checks, the per-socket join protocol, and the socket's
// reader and writer.
//
// # Handshake
//
// The path must be /ws/campaign/{digits} with an optional trailing slash
// (else 404). An Origin header, when present, must be in the allowlist
// (else 403; clients that send none, which browsers never do, are let in).
// The client IP (limit.ClientIP) must be within its handshake rate and its
// cap of open sockets (else 429 with Retry-After); an admitted socket counts
// against its IP until it is done. All of this is answered in HTTP before
// the upgrade. A token, when present, must verify, else the socket is
// upgraded and closed 4401, which a browser can read; without one the
// viewer is anonymous.
//
// # Inbound messages
//
// The reader answers each text message through the send queue: a pong or
// an error reply. A socket's messages draw on a token bucket (FrameRate);
// over it the message is not even parsed and gets a rate_limited error.
// Refused messages (over the rate, malformed, unsupported) draw on a second
// bucket (RefusedFrames); when it is empty the reader queues a close 1008
// after the replies and stops answering. Both buckets are made at a
// socket's first message and only the reader touches them.
//
// # Join (DESIGN.md §3.3)
//
// After the upgrade the socket is attached to its campaign's room in the hub
// first, so deliveries queue up in its send queue from then on; then the
// interest is acquired from the fanout link and acknowledged by every
// stream; only then is the opening read. With a valid `since=` cursor that
// recent history still reaches back to (fanout's History says complete),
// the opening is the events after it and {"type":"resumed","cursor":...}
// (DESIGN.md §3.4); otherwise it is a fresh campaign_data. The writer then
// sends only events after the position the opening left it at, and never
// one at or before the last position it has sent (fanout may push
// duplicates), so an event committed while the socket joins is sent once.
// A private campaign is shown only to its owner (else close 4403), one
// without a view closes 4404, and a fanout that does not answer closes 1013.
//
// # Barriers
//
// When a fanout stream broke or a campaign's partition moved between fanout
// instances (package hub), a Barrier frame reaches the writer in order with
// the deliveries. The writer catches up there: the events after its own
// last position from history, or a fresh campaign_data if history does not
// reach back.
//
// # Concurrency
//
// Each socket has a reader goroutine (inbound messages, pongs, the read
// limit) for its whole life, and a writer only while frames wait: the
// HTTP handler's goroutine joins and writes the opening frames as the first
// writer, then returns; after it, the push that finds the send queue
// without a writer starts one, which writes until the queue is empty and
// exits. The queue decides both under one lock, so there is never more than
// one writer and never a frame left without one; an idle socket, nearly
// every socket, so costs one goroutine stack rather than two
// (docs/performance.md, W3). Only the writer writes data frames; replies to
// inbound messages go through the same bounded send queue as deliveries.
// The hub offers frames without blocking: a full queue closes the socket
// with 1013 and never slows the dispatcher or other sockets. Every write
// has a deadline. Pings go every 9/10 of the pong wait from a per-socket
// timer; they, the reader's pongs and the close frame go through
// WriteControl, which is safe beside the writer.
//
// # Metrics
//
// A Handler reports to the global meter provider (metrics.go): the hot
// path, a frame written, costs one atomic add and, for a live event, one
// histogram record; open sockets and queued frames are read at scrape time
// under the handler's lock.
//
// # Lifecycle and close
//
// A socket ends on the first close reason (shut): the send queue closes,
// and whoever finds it closed with no writer (shut, on a goroutine of its
// own, or the writer that was running) ends the socket, once: it releases
// the interest, detaches from the room, sends the close frame, waits a
// short grace for the client's close so the client reads it rather than a
// TCP reset, and closes the connection. Drain closes every socket with
// 1012 and waits for them under a deadline, then cuts what is left. Close,
// after Drain, stops the metrics callbacks and the per-IP limiter.
package ws
