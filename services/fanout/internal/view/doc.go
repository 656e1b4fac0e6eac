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
// has one row per applied event id with its position and rendered frame:
// the deduplication key, and the recent history a resume will replay.
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
// Store is safe for concurrent use. The partition row lock serializes two
// owners of a partition during a rebalance, and event_seen makes the later
// one treat what the earlier applied as duplicates. Rows are locked in
// ascending order (partitions, then campaigns), so two batches that share
// rows wait for each other instead of deadlocking.
//
// # Reading
//
// Snapshot reads a row in one statement, so the frame and its cursor agree,
// and renders it with the same serializer for gRPC and HTTP.
package view
