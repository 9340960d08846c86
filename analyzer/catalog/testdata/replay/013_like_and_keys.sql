CREATE TABLE users_archive (LIKE users INCLUDING ALL);

CREATE TABLE slots (
    room integer NOT NULL,
    during tstzrange NOT NULL,
    EXCLUDE USING gist (during WITH &&)
);

CREATE TABLE accounts (id bigint NOT NULL, handle text NOT NULL);
CREATE UNIQUE INDEX CONCURRENTLY accounts_id_idx ON accounts (id);
ALTER TABLE accounts ADD CONSTRAINT accounts_pkey PRIMARY KEY USING INDEX accounts_id_idx;
CREATE UNIQUE INDEX accounts_handle_idx ON accounts (handle);
ALTER TABLE accounts ADD UNIQUE USING INDEX accounts_handle_idx;

CREATE TABLE very_long_table_name_that_goes_on_and_on_for_quite_a_while_yes (
    another_rather_long_column_name_for_testing_truncation integer UNIQUE,
    b int REFERENCES accounts
);
