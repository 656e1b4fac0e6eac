// Command fanout turns the campaign-events topic into live campaign views
// and pushes every event to the gateways whose sockets watch its campaign.
//
// # Flow
//
// One consumer-group reader (package consumer) takes records in partition
// order. Each record is applied to the view in one Postgres transaction
// (package view), then handed to the hub (package hub), which queues it on
// every gateway stream interested in the campaign, and only then is the
// record's offset committed to Kafka. gRPC (Watch, Snapshot) and
// GET /api/live/campaigns/{id} are served by package api.
//
// # Delivery guarantees
//
// At least once, in order per campaign, never before the view holds it: a
// delivery is queued only after its transaction committed, so a gateway that
// subscribes, waits for Subscribed, then reads a Snapshot misses nothing and
// drops the deliveries at or before the snapshot's position.
//
// Deduplication is by event id (the history table's primary key) as well as
// by position: the outbox may publish an event twice at two offsets, and a
// crash or rebalance redelivers records since the last committed offset. A
// duplicate does not change the view, but it is pushed again, with the frame
// and position stored when it was first applied, because whoever applied it
// first may have died between its commit and its push. Gateways drop
// duplicates by position.
//
// # Back-pressure
//
// Each gateway stream has a bounded queue (GATEWAY_QUEUE). The consumer never
// drops an event and never buffers without bound: when a stream's queue is
// full it waits, which stops consumption of the topic (back-pressure to
// Kafka). A stream whose queue, once found full, has not drained back to
// half within GATEWAY_STALL_TIMEOUT is ended with codes.Unavailable, so its
// gateway reconnects and gives its sockets fresh snapshots, and the consumer
// moves on. The clock runs across waits, so a gateway that takes one message
// just in time, again and again, is cut too. A stuck gateway thus delays
// everyone by at most that timeout, once: the price of never losing an
// event, bounded. A slower gateway that does catch up sets the pace.
//
// # Positions and epochs
//
// A position is (CURSOR_EPOCH, partition, offset). A campaign's positions
// only grow while it stays in one partition, so adding partitions to the
// topic (which moves keys) must come with a new CURSOR_EPOCH, as must
// recreating the topic.
//
// # Shutdown
//
// On SIGTERM every part stops together: the consumer stops fetching (an
// event mid-apply is rolled back and redelivered to the next owner) and
// closes its reader, which flushes commits and leaves the group so the
// partitions move at once; Watch streams are ended so gateways reconnect
// elsewhere, and the gRPC and HTTP servers stop under SHUTDOWN_GRACE.
package main
