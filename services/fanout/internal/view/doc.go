// Package view is the fanout's campaign view in Postgres: applying events
// to it, exactly once in effect, and rendering it as the browser's
// campaign_data frame.
//
// # Tables
//
// campaign_view has one row per campaign: its own fields (NULL until its
// campaign event, and then the campaign is found), raised_amount (numeric,
// summed exactly by Postgres), contribution_count, the recent lists
// (updates, releases, milestones, comments, contributions; newest first,
// RECENT_ITEMS long) and the position of the last event applied. history
// has one row per applied event with its position and rendered frame: the
// recent history a resume will replay, and history_horizon per campaign the
// highest position pruned from it. event_seen has the ids of the events
// applied, the deduplication; partition_epoch has each topic partition's
// epoch and the highest offset applied in it.
//
// # Applying
//
// ApplyBatch applies a batch of records in one transaction, with the same
// effect as one transaction per event in order: it locks the batch's
// partition rows, then its campaign rows (creating a campaign's on its
// first event, whichever producer wrote it), records the event ids in
// event_seen (an id seen before, in an earlier transaction or earlier in
// the batch, is a duplicate and changes nothing but the position), works
// out each event's position, epoch, frame and the new recent lists in
// memory, event by event, and then writes every history row, changed view
// row and partition row with one statement each. Three round trips, the
// same for one event as for hundreds; the commit's WAL flush is paid once
// per batch. Events of a campaign can come before its campaign event;
// their totals and lists are kept and shown once it arrives. A milestone
// already in the list is replaced where it stands. Money is summed by
// Postgres numeric.
//
// # Concurrency
//
// Store and Pruner are safe for concurrent use. The partition row lock
// serializes two owners of a partition during a rebalance, and event_seen
// makes the later one treat what the earlier applied as duplicates. Rows
// are locked in ascending order (partitions, then campaigns), so two
// batches that share rows wait for each other instead of deadlocking.
// Pruners of several instances may run at once: a cut only raises a
// horizon and deletes below it, campaign by campaign in ascending order.
//
// # Pruning
//
// A Pruner bounds history and event_seen in rounds. Each statement is a
// transaction of its own that deletes about Retention.BatchRows rows at
// most, and a round repeats them until its work is done, so it never
// holds a large transaction. By age it reads the oldest rows by
// history_by_applied_at and cuts each campaign up to the newest of them
// by position. By count it checks only the campaigns with rows applied
// since its previous round began, less 30 seconds for applies in flight
// (applied_at is when an apply began; its rows are seen once it commits):
// the cut is a campaign's (HistoryEvents+1)-th newest row, found walking
// history_by_position backwards. Every cut deletes a prefix of the
// campaign's history by position and raises history_horizon to its end in
// the same statement, so History stays exact. A Pruner's first round
// checks every campaign. A campaign its count missed (an apply that took
// longer than the 30 seconds) keeps its extra rows until it is written to
// again, they age out, or the fanout restarts; History stays exact.
//
// event_seen loses the ids applied more than Retention.SeenAge ago, read
// by event_seen_by_applied_at. That is safe only for events whose records
// can no longer be read from the topic: a forgotten id read again is a new
// event, applied a second time, in a new epoch when its offset is at or
// below its partition's high offset. A record is readable for at most the
// topic's retention.ms + segment.ms after it was written, and an event is
// applied after that, so SeenAge must stay above them, with a margin.
//
// # Reading
//
// Snapshot reads a row in one statement, so the frame and its cursor agree,
// and renders it with the same serializer for gRPC and HTTP.
package view
