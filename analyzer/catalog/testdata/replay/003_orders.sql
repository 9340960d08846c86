CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    user_id integer NOT NULL REFERENCES users ON DELETE CASCADE,
    status order_status NOT NULL DEFAULT 'pending',
    total numeric(10, 2) NOT NULL DEFAULT 0,
    note varchar(100),
    placed_at timestamp(3) without time zone,
    CONSTRAINT orders_total_nonneg CHECK (total >= 0)
);

CREATE INDEX orders_user_id_idx ON orders (user_id);
CREATE UNIQUE INDEX orders_user_note_key ON orders (user_id, note) WHERE note IS NOT NULL;

CREATE TABLE order_items (
    order_id bigint REFERENCES orders (id),
    line smallint,
    sku text NOT NULL,
    qty integer NOT NULL DEFAULT 1,
    price positive_amount,
    PRIMARY KEY (order_id, line)
);
