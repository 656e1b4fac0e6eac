-- +goose Up

-- campaign_view is the live view of one campaign: its own fields, totals and
-- recent lists, and the topic position it reflects. A row exists from the
-- first event of the campaign, whichever producer wrote it; the campaign is
-- "found" only once its campaign event filled `campaign`.
CREATE TABLE campaign_view (
    campaign_id        bigint PRIMARY KEY,
    -- campaign is event.CampaignData as JSON, NULL until the campaign event.
    campaign           json,
    -- raised_amount is exact: the sum of every contribution's amount.
    raised_amount      numeric NOT NULL DEFAULT 0,
    contribution_count bigint  NOT NULL DEFAULT 0,
    -- The recent lists, newest first, each item in its browser shape. They
    -- are json, not jsonb, so the bytes (and key order) stay as rendered.
    updates            json NOT NULL DEFAULT '[]',
    releases           json NOT NULL DEFAULT '[]',
    milestones         json NOT NULL DEFAULT '[]',
    comments           json NOT NULL DEFAULT '[]',
    contributions      json NOT NULL DEFAULT '[]',
    -- The position of the last event applied; epoch 0 means none yet.
    pos_epoch          bigint  NOT NULL DEFAULT 0,
    pos_partition      integer NOT NULL DEFAULT 0,
    pos_offset         bigint  NOT NULL DEFAULT 0,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- history holds every applied event once, by id: the insert is the
-- deduplication of events the outbox published twice, and the frames are the
-- recent history a resume replays from.
CREATE TABLE history (
    event_id      text PRIMARY KEY,
    campaign_id   bigint  NOT NULL,
    event_type    text    NOT NULL,
    pos_epoch     bigint  NOT NULL,
    pos_partition integer NOT NULL,
    pos_offset    bigint  NOT NULL,
    -- frame is the browser's text frame; NULL for campaign events, which
    -- only change the view.
    frame         bytea,
    occurred_at   timestamptz NOT NULL,
    applied_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX history_by_position ON history (campaign_id, pos_epoch, pos_partition, pos_offset);

-- +goose Down
DROP TABLE history;
DROP TABLE campaign_view;
