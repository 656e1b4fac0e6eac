-- +goose Up
CREATE TABLE contributions (
    id          bigserial PRIMARY KEY,
    campaign_id bigint        NOT NULL,
    user_id     bigint        NOT NULL,
    username    text          NOT NULL,
    amount      numeric(14,2) NOT NULL CHECK (amount > 0),
    currency    char(3)       NOT NULL,
    created_at  timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX contributions_campaign ON contributions (campaign_id, id);

-- +goose Down
DROP TABLE contributions;
