ALTER TABLE invoices ADD COLUMN total numeric;
CREATE INDEX invoices_total ON invoices (total);
