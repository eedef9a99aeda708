-- Needs: what a client wants (a product or service, a budget in minor units, a date)
-- and where it stands. Keep in step with the other engine's 0007_needs.sql.
CREATE TABLE needs (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    status TEXT,
    account_id TEXT REFERENCES accounts(id),
    contact_id TEXT REFERENCES contacts(id),
    budget INTEGER,
    currency TEXT,
    needed_by TEXT,
    notes TEXT,
    custom TEXT NOT NULL DEFAULT '{}',
    search TEXT NOT NULL DEFAULT '',
    owner_id TEXT NOT NULL REFERENCES users(id),
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    deleted_at TEXT
);
CREATE INDEX needs_account ON needs(account_id, id);
CREATE INDEX needs_contact ON needs(contact_id, id);
CREATE INDEX needs_owner ON needs(owner_id, id);

CREATE VIRTUAL TABLE needs_search USING fts5(search, content='needs', content_rowid='rowid', tokenize='trigram');
CREATE TRIGGER needs_search_insert AFTER INSERT ON needs BEGIN
    INSERT INTO needs_search (rowid, search) VALUES (new.rowid, new.search);
END;
CREATE TRIGGER needs_search_delete AFTER DELETE ON needs BEGIN
    INSERT INTO needs_search (needs_search, rowid, search) VALUES ('delete', old.rowid, old.search);
END;
CREATE TRIGGER needs_search_update AFTER UPDATE OF search ON needs BEGIN
    INSERT INTO needs_search (needs_search, rowid, search) VALUES ('delete', old.rowid, old.search);
    INSERT INTO needs_search (rowid, search) VALUES (new.rowid, new.search);
END;
