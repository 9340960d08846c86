-- +goose Up
CREATE TYPE order_status AS ENUM ('pending', 'paid', 'canceled');

CREATE TABLE orders (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id),
    status      order_status NOT NULL DEFAULT 'pending',
    total_cents integer NOT NULL,
    note        text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE VIEW open_orders AS
    SELECT id, customer_id, total_cents FROM orders WHERE status = 'pending';

-- +goose Down
DROP VIEW open_orders;
DROP TABLE orders;
DROP TYPE order_status;
