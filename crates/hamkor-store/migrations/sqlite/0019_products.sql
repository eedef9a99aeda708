-- The catalog of products and services. Codes are unique among live products. Keep in
-- step with the other engine's 0019.
CREATE TABLE products (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    unit TEXT,
    price INTEGER,
    currency TEXT,
    vat_rate INTEGER,
    active INTEGER,
    category TEXT,
    description TEXT,
    custom TEXT NOT NULL DEFAULT '{}',
    search TEXT NOT NULL DEFAULT '',
    owner_id TEXT NOT NULL REFERENCES users(id),
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    deleted_at TEXT
);
CREATE UNIQUE INDEX products_code ON products(code) WHERE deleted_at IS NULL;
CREATE INDEX products_name ON products(COALESCE(name, ''), id);

CREATE VIRTUAL TABLE products_search USING fts5(search, content='products', content_rowid='rowid', tokenize='trigram');
CREATE TRIGGER products_search_insert AFTER INSERT ON products BEGIN
    INSERT INTO products_search (rowid, search) VALUES (new.rowid, new.search);
END;
CREATE TRIGGER products_search_delete AFTER DELETE ON products BEGIN
    INSERT INTO products_search (products_search, rowid, search) VALUES ('delete', old.rowid, old.search);
END;
CREATE TRIGGER products_search_update AFTER UPDATE OF search ON products BEGIN
    INSERT INTO products_search (products_search, rowid, search) VALUES ('delete', old.rowid, old.search);
    INSERT INTO products_search (rowid, search) VALUES (new.rowid, new.search);
END;
