-- Procedural code changes the schema like any statement: DO blocks, EXECUTE
-- of a constant, and functions and procedures where they are called. A
-- function that is only created changes nothing.
CREATE TABLE proc_items (id bigint PRIMARY KEY, note text);
DO $$
BEGIN
  ALTER TABLE proc_items ADD COLUMN qty integer NOT NULL DEFAULT 0;
  IF NOT EXISTS (SELECT 1 FROM pg_class WHERE relname = 'proc_log') THEN
    EXECUTE 'CREATE TABLE proc_log (at timestamptz NOT NULL, msg text)';
  END IF;
  BEGIN
    ALTER TABLE proc_items DROP COLUMN note;
  EXCEPTION WHEN undefined_column THEN
    RAISE NOTICE 'no note';
  END;
END $$;
CREATE FUNCTION proc_add_flag() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  ALTER TABLE proc_items ADD COLUMN flag boolean;
  CREATE INDEX proc_items_flag_idx ON proc_items (flag);
END $$;
CREATE FUNCTION proc_never_called() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DROP TABLE proc_items;
END $$;
SELECT proc_add_flag();
CREATE PROCEDURE proc_rename() LANGUAGE sql AS $$ ALTER TABLE proc_log RENAME COLUMN msg TO message $$;
CALL proc_rename();
CREATE PROCEDURE proc_atomic() LANGUAGE sql BEGIN ATOMIC INSERT INTO proc_items (id) VALUES (1); END;
CALL proc_atomic();
