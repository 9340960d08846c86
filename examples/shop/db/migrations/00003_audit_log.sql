-- +goose Up
CREATE TABLE audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity     text NOT NULL,
    payload    jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- A table created and changed in the same migration is new and empty: nothing to approve.
ALTER TABLE audit_log ADD COLUMN actor text;
ALTER TABLE audit_log RENAME COLUMN payload TO details;

-- +goose Down
DROP TABLE audit_log;
