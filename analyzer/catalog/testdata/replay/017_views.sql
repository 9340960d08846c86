CREATE VIEW purchase_summary AS
    SELECT p.id, p.status, p.total::text AS total_text, 1 AS one, 'x' AS label, u.email
    FROM purchases p JOIN users u ON u.id = p.user_id;
CREATE VIEW purchase_ids AS SELECT * FROM purchase_summary;
CREATE VIEW purchase_ids_again (pid) AS SELECT id FROM purchase_ids;
CREATE MATERIALIZED VIEW batch_counts AS SELECT batch_id, n FROM intake.batch_rows;
CREATE VIEW user_emails AS SELECT users.* FROM users;
DROP VIEW purchase_ids CASCADE;
ALTER VIEW user_emails RENAME TO user_rows;
ALTER TABLE users RENAME COLUMN phone TO phone_number;
