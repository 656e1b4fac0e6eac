-- +goose Up
CREATE TABLE updates (
    id          bigserial PRIMARY KEY,
    campaign_id bigint      NOT NULL REFERENCES campaigns (id),
    title       text        NOT NULL,
    content     text        NOT NULL,
    image       text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX updates_campaign ON updates (campaign_id, id);

CREATE TABLE releases (
    id          bigserial PRIMARY KEY,
    campaign_id bigint      NOT NULL REFERENCES campaigns (id),
    title       text        NOT NULL,
    version     text        NOT NULL,
    notes       text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX releases_campaign ON releases (campaign_id, id);

-- +goose Down
DROP TABLE releases;
DROP TABLE updates;
