-- Needs: what a client wants (a product or service, a budget in minor units, a date)
-- and where it stands. Keep in step with the other engine's 0007_needs.sql.
CREATE TABLE needs (
    id UUID PRIMARY KEY,
    title TEXT NOT NULL,
    status TEXT,
    account_id UUID REFERENCES accounts(id),
    contact_id UUID REFERENCES contacts(id),
    budget BIGINT,
    currency TEXT,
    needed_by DATE,
    notes TEXT,
    custom JSONB NOT NULL DEFAULT '{}',
    search TEXT NOT NULL DEFAULT '',
    owner_id UUID NOT NULL REFERENCES users(id),
    created_by UUID NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    deleted_at TIMESTAMPTZ
);
CREATE INDEX needs_account ON needs(account_id, id);
CREATE INDEX needs_contact ON needs(contact_id, id);
CREATE INDEX needs_owner ON needs(owner_id, id);
CREATE INDEX needs_search_trgm ON needs USING gin (search gin_trgm_ops);
