ALTER TABLE users ADD COLUMN phone text;
ALTER TABLE users ADD CONSTRAINT users_phone_not_null CHECK (phone IS NOT NULL) NOT VALID;
ALTER TABLE order_items ADD CONSTRAINT order_items_quantity_positive CHECK (quantity > 0) NOT VALID;

CREATE TABLE coupons (
    code text PRIMARY KEY,
    user_id integer
);
ALTER TABLE coupons ADD FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
