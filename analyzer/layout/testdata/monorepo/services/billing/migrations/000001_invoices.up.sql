CREATE TABLE invoices (id bigint);
