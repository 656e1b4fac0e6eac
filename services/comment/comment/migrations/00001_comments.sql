-- +goose Up
CREATE TABLE comments (
    id          bigserial   PRIMARY KEY,
    campaign_id bigint      NOT NULL,
    user_id     bigint      NOT NULL,
    username    text        NOT NULL,
    content     text        NOT NULL CHECK (char_length(content) BETWEEN 1 AND 2000),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX comments_campaign ON comments (campaign_id, id);

-- +goose Down
DROP TABLE comments;
