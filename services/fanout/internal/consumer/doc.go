// Package consumer reads the campaign-events topic as a consumer group and
// drives its records through the view and the hub, a batch at a time.
//
// # Order of effects
//
// One goroutine fetches records into a queue of APPLY_MAX_BATCH; another
// takes everything queued (at least one record, at most APPLY_MAX_BATCH,
// never waiting for more) and, for that batch: decodes it, applies it to
// the view in one transaction (which commits), publishes the deliveries to
// the hub in topic order (which may wait on a slow gateway:
// back-pressure), and only then hands the batch's offsets to the reader to
// commit. Commits go to Kafka every KAFKA_COMMIT_INTERVAL and when the
// reader closes, and never name a record that was not applied and
// published, so a crash replays from the last commit and the view's
// idempotent apply absorbs it. A batch forms while the one before it
// commits, so batches grow with the load and cost nothing at low load: a
// lone record is applied as soon as it is fetched.
//
// # Failures
//
// A record that is not an event, or an event that can never apply (such as
// an amount that is not a decimal), is logged by partition and offset, never
// by content, and skipped, so it cannot wedge its partition; the rest of
// its batch applies. Any other failure to apply (the database restarting)
// is retried, for the whole batch, with backoff until it succeeds or the
// consumer stops: skipping would lose events. A failed fetch (the broker
// restarting) is retried too: kafka-go's reader reports each failed attempt
// to rejoin its group and keeps healing, so stopping the service for it
// would turn a broker blip into a crash loop.
//
// # Telemetry
//
// Each record gets a consumer span, "campaign-events process", a child of
// the producer span named by its traceparent header, from when it is taken
// into a batch until its delivery was handed to the hub; the delivery
// carries the span's context (Delivery.traceparent) on to the gateways.
// Metrics: fanout_events_applied_total{type}, fanout_events_duplicate_total
// {type}, fanout_records_skipped_total{reason}, fanout_apply_batch_size,
// fanout_apply_duration_seconds, fanout_publish_latency_seconds (from the
// event's occurred_at) and fanout_process_latency_seconds (from its record's
// fetch: the fanout's own part), and Lag's
// kafka_consumer_lag{group,partition}.
package consumer
