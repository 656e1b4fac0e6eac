-- +goose NO TRANSACTION
-- +goose Up

-- event_seen is pruned by age (EVENT_SEEN_MAX_AGE): the prune reads the
-- oldest ids by this index, so it touches only the rows it deletes. It
-- costs one more index entry per applied event (about 10 bytes: the
-- events of one transaction share applied_at, which btree deduplication
-- stores once). Built concurrently, so an instance still applying events
-- during a rolling deploy is not blocked for the length of the build; an
-- invalid index left by a failed build is dropped first.
DROP INDEX CONCURRENTLY IF EXISTS event_seen_by_applied_at;
CREATE INDEX CONCURRENTLY event_seen_by_applied_at ON event_seen (applied_at);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS event_seen_by_applied_at;
