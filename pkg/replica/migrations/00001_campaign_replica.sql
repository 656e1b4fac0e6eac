-- +goose Up
-- campaign_replica is this service's copy of the campaigns that exist, kept
-- from `campaign` events, so a request needs no call to the content service.
CREATE TABLE campaign_replica (
    id             bigint  PRIMARY KEY,
    owner_id       bigint  NOT NULL,
    owner_username text    NOT NULL,
    currency       char(3) NOT NULL,
    private        boolean NOT NULL
);

-- +goose Down
DROP TABLE campaign_replica;
