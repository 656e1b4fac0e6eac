-- +goose Up
-- outbox holds events written in the same transaction as the rows they
-- describe, until the relay has published them to Kafka.
CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    campaign_id bigint      NOT NULL,
    event_id    uuid        NOT NULL UNIQUE,
    event_type  text        NOT NULL,
    payload     bytea       NOT NULL,
    traceparent text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE outbox;
