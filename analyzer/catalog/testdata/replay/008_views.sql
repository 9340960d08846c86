CREATE VIEW active_users AS
    SELECT id, email, full_name FROM users WHERE age IS NOT NULL;

CREATE VIEW user_totals AS
    SELECT u.id AS user_id, sum(p.total) AS total
    FROM users u JOIN purchases p ON p.user_id = u.id
    GROUP BY u.id;

CREATE MATERIALIZED VIEW sku_counts AS
    SELECT sku, count(*) AS n FROM order_items GROUP BY sku;

CREATE OR REPLACE VIEW active_users AS
    SELECT id, email, full_name, created_at FROM users WHERE age IS NOT NULL;
