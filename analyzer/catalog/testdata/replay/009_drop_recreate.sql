-- The same names come back with different definitions.
DROP INDEX users_created_at_idx;
CREATE INDEX users_created_at_idx ON users (created_at) WHERE created_at > '2020-01-01';

CREATE TABLE legacy (id int, payload text);
DROP TABLE legacy;
CREATE TABLE legacy (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text NOT NULL);

ALTER TABLE users DROP CONSTRAINT users_age_check;
ALTER TABLE users ADD CHECK (age > 0);
ALTER TABLE users ADD CHECK (age < 150);
ALTER TABLE users ADD CHECK (age <> 42 AND full_name IS NOT NULL);
