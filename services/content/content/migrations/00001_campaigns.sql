-- +goose Up
CREATE TABLE campaigns (
    id             bigserial PRIMARY KEY,
    title          text          NOT NULL,
    description    text          NOT NULL,
    goal_amount    numeric(14,2) NOT NULL CHECK (goal_amount > 0),
    currency       char(3)       NOT NULL,
    owner_id       bigint        NOT NULL,
    owner_username text          NOT NULL,
    private        boolean       NOT NULL DEFAULT false,
    created_at     timestamptz   NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE campaigns;
