// Package consumer reads the campaign-events topic as a consumer group and
// drives each record through the view and the hub.
//
// # Order of effects
//
// One goroutine handles records one at a time: decode, apply to the view
// (its transaction commits), publish to the hub (which may wait on a slow
// gateway: back-pressure), and only then mark the offset for commit. Commits
// go to Kafka every KAFKA_COMMIT_INTERVAL and when the reader closes, and
// never name a record that was not applied and published, so a crash
// replays from the last commit and the view's idempotent Apply absorbs it.
//
// # Failures
//
// A record that is not an event, or an event that can never apply (such as
// an amount that is not a decimal), is logged by partition and offset, never
// by content, and skipped, so it cannot wedge its partition. Any other
// failure to apply (the database restarting) is retried with backoff until
// it succeeds or the consumer stops: skipping would lose an event. A failed
// fetch (the broker restarting) is retried too: kafka-go's reader reports
// each failed attempt to rejoin its group and keeps healing, so stopping the
// service for it would turn a broker blip into a crash loop.
package consumer
