ALTER TABLE order_items VALIDATE CONSTRAINT order_items_quantity_positive;
ALTER TABLE coupons VALIDATE CONSTRAINT coupons_user_id_fkey;
ALTER TYPE order_status ADD VALUE 'refunded';
