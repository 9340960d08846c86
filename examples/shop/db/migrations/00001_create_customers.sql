-- +goose Up
CREATE TABLE customers (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email      text NOT NULL UNIQUE,
    name       varchar(100),
    legacy_address text,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE customers;
