-- +goose Up

-- event_seen is the deduplication of applied event ids, which history did
-- until now. history is pruned (HISTORY_MAX_EVENTS, HISTORY_MAX_AGE); the
-- dedupe must not be, or an event the outbox published twice, or a replay
-- of the topic from its start, would apply again. A row is ~60 bytes.
CREATE TABLE event_seen (
    event_id   text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO event_seen (event_id, applied_at) SELECT event_id, applied_at FROM history;

-- history_horizon is, per campaign, the highest position pruned from
-- history: history holds every event of the campaign after it, so a resume
-- from a cursor at or after it is exact.
CREATE TABLE history_horizon (
    campaign_id   bigint PRIMARY KEY,
    pos_epoch     bigint  NOT NULL,
    pos_partition integer NOT NULL,
    pos_offset    bigint  NOT NULL
);

-- partition_epoch is, per topic partition, the epoch its positions carry and
-- the highest offset applied in that epoch. A new event at or below that
-- offset means the partition's log started again (the topic was recreated),
-- and the epoch goes up, so cursors keep growing.
CREATE TABLE partition_epoch (
    partition   integer PRIMARY KEY,
    epoch       bigint NOT NULL,
    high_offset bigint NOT NULL
);
INSERT INTO partition_epoch (partition, epoch, high_offset)
SELECT DISTINCT ON (p) p, e, o FROM (
    SELECT pos_partition AS p, pos_epoch AS e, pos_offset AS o FROM history
    UNION ALL
    SELECT pos_partition, pos_epoch, pos_offset FROM campaign_view WHERE pos_epoch > 0
) AS x
ORDER BY p, e DESC, o DESC;

-- Pruning by age looks for old rows.
CREATE INDEX history_by_applied_at ON history (applied_at);

-- +goose Down
DROP INDEX history_by_applied_at;
DROP TABLE partition_epoch;
DROP TABLE history_horizon;
DROP TABLE event_seen;
