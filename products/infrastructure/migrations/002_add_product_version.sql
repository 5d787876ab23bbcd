-- Each product's version: 1 when created (existing rows start there), one more with every change,
-- in the UPDATE that makes it. Conditional changes (If-Match) compare it in that same statement,
-- and the API's ETag is made of it; updated_at cannot serve, two changes can share a millisecond.
ALTER TABLE products ADD COLUMN IF NOT EXISTS version BIGINT NOT NULL DEFAULT 1;
