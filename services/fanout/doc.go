// Command fanout turns the campaign-events topic into live campaign views
// and pushes every event to the gateways whose sockets watch its campaign.
//
// # Flow
//
// One consumer-group reader (package consumer) takes records in partition
// order, in batches of what has been fetched (up to APPLY_MAX_BATCH). Each
// batch is applied to the view in one Postgres transaction (package view),
// then its deliveries are handed, in order, to the hub (package hub), which
// queues each on every gateway stream interested in its campaign, and only
// then are the batch's offsets committed to Kafka. gRPC (Watch, Snapshot,
// History) and GET /api/live/campaigns/{id} are served by package api.
//
// # Throughput
//
// A view transaction costs three round trips and one WAL flush whatever
// its size, so the fanout keeps up by applying more events per transaction
// as the load grows; at low load a batch is one event and goes at once.
// One transaction is in flight at a time. At W2's 1,000 events/s on two
// cores that applier is busy about half the time (batches of ~10 events,
// ~5 ms each, mostly waiting for a CPU and for the flush), so more
// transactions at once would mainly add per-transaction cost on a machine
// with none to spare. If that changes, partitions can be spread over
// several appliers by a hash of the partition, which keeps each campaign's
// order; the view already serializes concurrent appliers by row locks.
//
// synchronous_commit stays on for the view. With it off, a Postgres crash
// could lose transactions whose deliveries were pushed and whose offsets
// Kafka already has: the view would never see those events again, and
// their offsets, applied again after a restart, would look like a
// recreated topic and start a new epoch. Making it safe would need Kafka
// commits held back until the WAL is flushed past them, and the consumer
// rewound to them after any database failure.
//
// # Delivery guarantees
//
// At least once, in order per campaign, never before the view holds it: a
// delivery is queued only after its transaction committed, so a gateway that
// subscribes, waits for Subscribed, then reads a Snapshot misses nothing and
// drops the deliveries at or before the snapshot's position.
//
// Deduplication is by event id (event_seen, for as long as the topic can
// give a record again; see History and resume) as well as by position:
// the outbox may publish an event twice at two offsets, and a crash or
// rebalance redelivers records since the last committed offset. A
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
// A position is (epoch, partition, offset). The epoch is per partition and
// stored (partition_epoch, with the highest offset applied in it); it only
// goes up, so a campaign's positions only grow. A new event id at an offset
// at or below that high offset means the partition's log began again (the
// topic was recreated): the epoch goes up by one. A new event that would
// still sort before its campaign's view (the campaign's key moved to
// another partition when partitions were added) starts a new epoch too.
// CURSOR_EPOCH is a floor an operator may raise by hand.
//
// # History and resume
//
// Every event's frame and position stay in history, bounded per campaign by
// HISTORY_MAX_EVENTS and HISTORY_MAX_AGE: every HISTORY_PRUNE_INTERVAL a
// pruner (view.Pruner) deletes a prefix by position and records the
// highest position deleted (history_horizon) in the same transaction.
// History(campaign, after) is complete exactly when after is in the view's
// epoch and partition, not past the view, and not before the horizon;
// gateways then replay instead of sending a snapshot. A round costs the
// rows it deletes and the campaigns written since the round before, not
// the size of history: the age bound reads only the rows older than
// HISTORY_MAX_AGE, and the count bound checks only campaigns written since
// (all of them in the first round after a start).
//
// The same rounds forget the event ids applied more than
// EVENT_SEEN_MAX_AGE ago (15 days; 0 never forgets). Every repeat the
// dedupe stands against (the outbox publishing twice, a redelivery, a
// replay of the topic) reads a record that is still in the topic, and an
// event is applied only after its record was written, so its record is
// gone once the topic's retention.ms + segment.ms (7 + 7 days by default)
// have passed since. An id forgotten sooner would, read again, be applied
// a second time, in a new epoch: EVENT_SEEN_MAX_AGE must stay above the
// topic's retention.ms + segment.ms.
//
// # Observability
//
// The ops port serves /healthz, /readyz, /metrics (Prometheus) and
// /debug/pprof/. Each event gets a consumer span, a child of its producer's,
// whose context rides on with the delivery to the gateway. Metrics: the
// consumer's lag per partition, events applied by type, batch sizes and
// transaction times, publish latency (occurred_at to the gateway streams)
// and each gateway stream's queue depth (see package consumer and hub).
//
// # Shutdown
//
// On SIGTERM the consumer stops fetching (a batch mid-apply is rolled back
// and redelivered to the next owner); the gateway streams then send what is
// queued (under SHUTDOWN_GRACE), and only then does the reader close, which
// commits and leaves the group so the partitions move at once; Watch
// streams are ended so gateways catch up from history and go on with the
// other instances, and the gRPC and HTTP servers stop under SHUTDOWN_GRACE.
// An instance killed without leaving keeps its partitions for
// KAFKA_SESSION_TIMEOUT.
package main
