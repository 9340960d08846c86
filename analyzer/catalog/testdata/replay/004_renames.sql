ALTER TABLE users RENAME COLUMN name TO full_name;
ALTER TABLE orders RENAME TO purchases;
ALTER TABLE purchases RENAME CONSTRAINT orders_total_nonneg TO purchases_total_check;
ALTER INDEX orders_user_id_idx RENAME TO purchases_user_id_idx;
ALTER TABLE order_items RENAME COLUMN qty TO quantity;
