-- Quotes, orders and invoices: numbered per kind and year without gaps (the counter is
-- taken in the document's own transaction), with lines like a deal's, payments and
-- shipments recorded against them, and the company's details for their PDF. Keep in
-- step with the other engine's 0024.
CREATE TABLE documents (
    id UUID PRIMARY KEY,
    kind TEXT NOT NULL,
    number TEXT NOT NULL,
    issued_on DATE NOT NULL,
    due_on DATE,
    status TEXT NOT NULL DEFAULT 'draft',
    account_id UUID REFERENCES accounts(id),
    contact_id UUID REFERENCES contacts(id),
    deal_id UUID REFERENCES deals(id),
    source_id UUID REFERENCES documents(id),
    currency TEXT,
    vat_included BOOLEAN,
    net_total BIGINT,
    vat_total BIGINT,
    total BIGINT,
    paid BIGINT,
    shipped BIGINT,
    notes TEXT,
    sent_at TIMESTAMPTZ,
    custom JSONB NOT NULL DEFAULT '{}',
    search TEXT NOT NULL DEFAULT '',
    owner_id UUID NOT NULL REFERENCES users(id),
    created_by UUID NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    deleted_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX documents_number ON documents(kind, number);
CREATE INDEX documents_owner ON documents(owner_id, id);
CREATE INDEX documents_account ON documents(account_id, issued_on);
CREATE INDEX documents_deal ON documents(deal_id, id);
CREATE INDEX documents_issued ON documents(issued_on, id);

CREATE INDEX documents_search_trgm ON documents USING gin (search gin_trgm_ops);

CREATE TABLE document_lines (
    id UUID PRIMARY KEY,
    document_id UUID NOT NULL REFERENCES documents(id),
    position BIGINT NOT NULL,
    product_id UUID REFERENCES products(id),
    name TEXT NOT NULL,
    unit TEXT,
    quantity BIGINT NOT NULL,
    unit_price BIGINT NOT NULL,
    discount_bp BIGINT,
    discount_amount BIGINT,
    vat_rate_bp BIGINT NOT NULL,
    gross BIGINT NOT NULL,
    discount BIGINT NOT NULL,
    net BIGINT NOT NULL,
    vat BIGINT NOT NULL,
    total BIGINT NOT NULL
);
CREATE INDEX document_lines_document ON document_lines(document_id, position);
CREATE INDEX document_lines_product ON document_lines(product_id);

-- The last number given per kind and year.
CREATE TABLE document_numbers (
    kind TEXT NOT NULL,
    year BIGINT NOT NULL,
    last BIGINT NOT NULL,
    PRIMARY KEY (kind, year)
);

-- Money received against an invoice, and goods or services handed over against an order
-- or invoice, in the document's currency.
CREATE TABLE payments (
    id UUID PRIMARY KEY,
    document_id UUID NOT NULL REFERENCES documents(id),
    account_id UUID REFERENCES accounts(id),
    on_date DATE NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    method TEXT,
    reference TEXT,
    created_by UUID NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX payments_document ON payments(document_id);
CREATE INDEX payments_account ON payments(account_id, on_date);

CREATE TABLE shipments (
    id UUID PRIMARY KEY,
    document_id UUID NOT NULL REFERENCES documents(id),
    account_id UUID REFERENCES accounts(id),
    on_date DATE NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    method TEXT,
    reference TEXT,
    created_by UUID NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX shipments_document ON shipments(document_id);
CREATE INDEX shipments_account ON shipments(account_id, on_date);

-- What every document's PDF carries: the company's details, logo and the editable texts.
CREATE TABLE document_settings (
    id BIGINT PRIMARY KEY,
    company TEXT NOT NULL DEFAULT '',
    details TEXT NOT NULL DEFAULT '',
    header TEXT NOT NULL DEFAULT '',
    footer TEXT NOT NULL DEFAULT '',
    accent TEXT NOT NULL DEFAULT '#1f6feb',
    logo BYTEA,
    invoice_days BIGINT NOT NULL DEFAULT 10,
    updated_at TIMESTAMPTZ
);
INSERT INTO document_settings (id) VALUES (1);
