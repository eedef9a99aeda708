-- Quotes, orders and invoices: numbered per kind and year without gaps (the counter is
-- taken in the document's own transaction), with lines like a deal's, payments and
-- shipments recorded against them, and the company's details for their PDF. Keep in
-- step with the other engine's 0024.
CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    number TEXT NOT NULL,
    issued_on TEXT NOT NULL,
    due_on TEXT,
    status TEXT NOT NULL DEFAULT 'draft',
    account_id TEXT REFERENCES accounts(id),
    contact_id TEXT REFERENCES contacts(id),
    deal_id TEXT REFERENCES deals(id),
    source_id TEXT REFERENCES documents(id),
    currency TEXT,
    vat_included INTEGER,
    net_total INTEGER,
    vat_total INTEGER,
    total INTEGER,
    paid INTEGER,
    shipped INTEGER,
    notes TEXT,
    sent_at TEXT,
    custom TEXT NOT NULL DEFAULT '{}',
    search TEXT NOT NULL DEFAULT '',
    owner_id TEXT NOT NULL REFERENCES users(id),
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    deleted_at TEXT
);
CREATE UNIQUE INDEX documents_number ON documents(kind, number);
CREATE INDEX documents_owner ON documents(owner_id, id);
CREATE INDEX documents_account ON documents(account_id, issued_on);
CREATE INDEX documents_deal ON documents(deal_id, id);
CREATE INDEX documents_issued ON documents(issued_on, id);

CREATE VIRTUAL TABLE documents_search USING fts5(search, content='documents', content_rowid='rowid', tokenize='trigram');
CREATE TRIGGER documents_search_insert AFTER INSERT ON documents BEGIN
    INSERT INTO documents_search (rowid, search) VALUES (new.rowid, new.search);
END;
CREATE TRIGGER documents_search_delete AFTER DELETE ON documents BEGIN
    INSERT INTO documents_search (documents_search, rowid, search) VALUES ('delete', old.rowid, old.search);
END;
CREATE TRIGGER documents_search_update AFTER UPDATE OF search ON documents BEGIN
    INSERT INTO documents_search (documents_search, rowid, search) VALUES ('delete', old.rowid, old.search);
    INSERT INTO documents_search (rowid, search) VALUES (new.rowid, new.search);
END;

CREATE TABLE document_lines (
    id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL REFERENCES documents(id),
    position INTEGER NOT NULL,
    product_id TEXT REFERENCES products(id),
    name TEXT NOT NULL,
    unit TEXT,
    quantity INTEGER NOT NULL,
    unit_price INTEGER NOT NULL,
    discount_bp INTEGER,
    discount_amount INTEGER,
    vat_rate_bp INTEGER NOT NULL,
    gross INTEGER NOT NULL,
    discount INTEGER NOT NULL,
    net INTEGER NOT NULL,
    vat INTEGER NOT NULL,
    total INTEGER NOT NULL
);
CREATE INDEX document_lines_document ON document_lines(document_id, position);
CREATE INDEX document_lines_product ON document_lines(product_id);

-- The last number given per kind and year.
CREATE TABLE document_numbers (
    kind TEXT NOT NULL,
    year INTEGER NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (kind, year)
);

-- Money received against an invoice, and goods or services handed over against an order
-- or invoice, in the document's currency.
CREATE TABLE payments (
    id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL REFERENCES documents(id),
    account_id TEXT REFERENCES accounts(id),
    on_date TEXT NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    method TEXT,
    reference TEXT,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX payments_document ON payments(document_id);
CREATE INDEX payments_account ON payments(account_id, on_date);

CREATE TABLE shipments (
    id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL REFERENCES documents(id),
    account_id TEXT REFERENCES accounts(id),
    on_date TEXT NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    method TEXT,
    reference TEXT,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX shipments_document ON shipments(document_id);
CREATE INDEX shipments_account ON shipments(account_id, on_date);

-- What every document's PDF carries: the company's details, logo and the editable texts.
CREATE TABLE document_settings (
    id INTEGER PRIMARY KEY,
    company TEXT NOT NULL DEFAULT '',
    details TEXT NOT NULL DEFAULT '',
    header TEXT NOT NULL DEFAULT '',
    footer TEXT NOT NULL DEFAULT '',
    accent TEXT NOT NULL DEFAULT '#1f6feb',
    logo BLOB,
    invoice_days INTEGER NOT NULL DEFAULT 10,
    updated_at TEXT
);
INSERT INTO document_settings (id) VALUES (1);
