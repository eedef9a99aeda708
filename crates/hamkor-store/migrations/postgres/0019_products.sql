-- The catalog of products and services. Codes are unique among live products. Keep in
-- step with the other engine's 0019.
CREATE TABLE products (
    id UUID PRIMARY KEY,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    unit TEXT,
    price BIGINT,
    currency TEXT,
    vat_rate BIGINT,
    active BOOLEAN,
    category TEXT,
    description TEXT,
    custom JSONB NOT NULL DEFAULT '{}',
    search TEXT NOT NULL DEFAULT '',
    owner_id UUID NOT NULL REFERENCES users(id),
    created_by UUID NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    deleted_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX products_code ON products(code) WHERE deleted_at IS NULL;
CREATE INDEX products_name ON products(COALESCE(name, ''), id);
CREATE INDEX products_search_trgm ON products USING gin (search gin_trgm_ops);
