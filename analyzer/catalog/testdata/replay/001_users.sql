-- Users and their accounts.
CREATE TABLE users (
    id serial PRIMARY KEY,
    email varchar(255) NOT NULL UNIQUE,
    name text,
    age integer CHECK (age >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    settings jsonb DEFAULT '{}'::jsonb,
    CHECK (age < 200)
);

CREATE INDEX ON users (lower(email));
CREATE INDEX users_created_at_idx ON users (created_at DESC);
