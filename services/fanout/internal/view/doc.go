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
// Apply runs one transaction per event: lock the campaign's row (creating
// it on its first event, whichever producer wrote it), treat a position at
// or before the stored one as a redelivery, insert the history row (a
// conflict on the id means the event was published twice), change the view
// and store the position. Events of a campaign can come before its campaign
// event; their totals and lists are kept and shown once it arrives. A
// milestone already in the list is replaced where it stands.
//
// # Concurrency
//
// Store is safe for concurrent use. The row lock serializes two owners of a
// partition during a rebalance; the position check makes the later one skip
// what the earlier applied.
//
// # Reading
//
// Snapshot reads a row in one statement, so the frame and its cursor agree,
// and renders it with the same serializer for gRPC and HTTP.
package view
