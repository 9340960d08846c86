CREATE TABLE events (
    id bigint NOT NULL,
    created_at timestamptz NOT NULL,
    kind text NOT NULL,
    user_id integer REFERENCES users (id),
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);

CREATE INDEX ON events (kind);
CREATE INDEX ON events (lower(kind));

CREATE TABLE events_2024 PARTITION OF events
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');

CREATE TABLE events_2025 (LIKE events INCLUDING DEFAULTS);
CREATE INDEX events_2025_kind_idx ON events_2025 (kind);
ALTER TABLE events ATTACH PARTITION events_2025
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');

ALTER TABLE events ADD CONSTRAINT events_kind_check CHECK (kind <> '');
ALTER TABLE events ADD COLUMN source text;

CREATE TABLE events_old PARTITION OF events
    FOR VALUES FROM ('2000-01-01') TO ('2024-01-01');
ALTER TABLE events DETACH PARTITION events_old;
