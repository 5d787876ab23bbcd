-- The seed's products table. Timestamps are timestamptz so they are unambiguous UTC instants.
CREATE TABLE IF NOT EXISTS products (
    id VARCHAR(36) PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    description TEXT NOT NULL,
    price NUMERIC(10, 2) NOT NULL CHECK (price >= 0),
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
-- The default listing order, and the key ties are broken by.
CREATE INDEX IF NOT EXISTS products_created_at_id_idx ON products (created_at, id);
