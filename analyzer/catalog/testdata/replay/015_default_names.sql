-- Unnamed constraints and indexes whose default names collide.
CREATE TABLE measures (
    v integer CHECK (v > 0) CHECK (v < 100),
    w integer,
    note text,
    cents bigint GENERATED ALWAYS AS (v * 100) STORED,
    CHECK (v < w),
    CHECK (w > 0 OR w IS NULL),
    UNIQUE (v),
    UNIQUE (v, w) INCLUDE (note)
);
CREATE TABLE measures_v_idx (id int);
CREATE INDEX ON measures (v);
CREATE INDEX ON measures (v);
CREATE INDEX ON measures ((v + w), (v * w));
CREATE INDEX ON measures (lower(note), upper(note));
CREATE INDEX ON measures USING hash (note);
ALTER TABLE measures
    ADD CHECK (v <> 5),
    ADD COLUMN x integer UNIQUE CHECK (x > 0),
    ADD FOREIGN KEY (w) REFERENCES accounts,
    ADD FOREIGN KEY (w) REFERENCES accounts;

CREATE TABLE pk_twice (id int PRIMARY KEY UNIQUE, b int UNIQUE UNIQUE);
