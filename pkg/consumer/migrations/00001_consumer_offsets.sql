-- +goose Up
-- consumer_offsets records, per consumer group and partition, the last
-- record applied to this database, in the same transaction as its effects.
CREATE TABLE consumer_offsets (
    group_id  text    NOT NULL,
    topic     text    NOT NULL,
    partition integer NOT NULL,
    "offset"  bigint  NOT NULL,
    PRIMARY KEY (group_id, topic, partition)
);

-- +goose Down
DROP TABLE consumer_offsets;
