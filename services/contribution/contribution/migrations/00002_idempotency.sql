-- +goose Up
-- An Idempotency-Key names one contribution per user: a retried request
-- finds the first one instead of paying twice.
ALTER TABLE contributions ADD COLUMN idempotency_key text;
CREATE UNIQUE INDEX contributions_idempotency ON contributions (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- +goose Down
DROP INDEX contributions_idempotency;
ALTER TABLE contributions DROP COLUMN idempotency_key;
