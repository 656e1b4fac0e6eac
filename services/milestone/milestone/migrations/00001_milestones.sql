-- +goose Up
CREATE TABLE milestones (
    id            bigserial     PRIMARY KEY,
    campaign_id   bigint        NOT NULL,
    title         text          NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    target_amount numeric(14,2) NOT NULL CHECK (target_amount > 0),
    status        text          NOT NULL CHECK (status IN ('pending', 'reached')),
    reached_at    timestamptz,
    created_at    timestamptz   NOT NULL DEFAULT now(),
    CHECK ((status = 'reached') = (reached_at IS NOT NULL))
);
CREATE INDEX milestones_pending ON milestones (campaign_id, target_amount) WHERE status = 'pending';

-- campaign_totals is the raised total of each campaign, in its currency. Its
-- row is also the lock that orders new milestones against new contributions.
CREATE TABLE campaign_totals (
    campaign_id bigint  PRIMARY KEY,
    raised      numeric(20,2) NOT NULL DEFAULT 0 CHECK (raised >= 0)
);

-- counted_contributions holds each contribution counted into a total, so a
-- contribution published twice (at two offsets) counts once.
CREATE TABLE counted_contributions (
    contribution_id bigint        PRIMARY KEY,
    campaign_id     bigint        NOT NULL,
    amount          numeric(14,2) NOT NULL
);

-- +goose Down
DROP TABLE counted_contributions;
DROP TABLE campaign_totals;
DROP TABLE milestones;
