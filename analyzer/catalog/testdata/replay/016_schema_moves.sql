CREATE SCHEMA staging;
CREATE TABLE staging.batches (id bigserial PRIMARY KEY, label text);
CREATE TABLE staging.rows (batch_id bigint REFERENCES staging.batches, n int);
ALTER SCHEMA staging RENAME TO intake;
ALTER TABLE intake.rows RENAME TO batch_rows;
ALTER SEQUENCE intake.batches_id_seq RENAME TO batch_ids;
ALTER TABLE intake.batches SET SCHEMA public;

CREATE SCHEMA scratchpad;
CREATE TABLE scratchpad.t (id int);
CREATE VIEW public.scratch_view AS SELECT id FROM scratchpad.t;
DROP SCHEMA scratchpad CASCADE;

CREATE TYPE mood AS ENUM ('ok');
CREATE TABLE feelings (m mood, n mood[]);
ALTER TYPE mood RENAME TO feeling;
DROP TYPE feeling CASCADE;
