CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped');

CREATE DOMAIN positive_amount AS numeric(12, 2) CHECK (VALUE > 0);
