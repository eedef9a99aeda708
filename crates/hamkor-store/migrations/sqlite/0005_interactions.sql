-- Interactions: calls, meetings, visits, e-mails, SMS, letters and notes in a client's
-- history. Timelines read them newest first per account and per contact, so those are
-- indexed with the time. Keep in step with ../postgres/0005_interactions.sql.
CREATE TABLE interactions (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    subject TEXT,
    account_id TEXT REFERENCES accounts(id),
    contact_id TEXT REFERENCES contacts(id),
    direction TEXT,
    duration INTEGER,
    result TEXT,
    recording_url TEXT,
    body TEXT,
    outcome TEXT,
    user_ids TEXT,
    contact_ids TEXT,
    custom TEXT NOT NULL DEFAULT '{}',
    search TEXT NOT NULL DEFAULT '',
    owner_id TEXT NOT NULL REFERENCES users(id),
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    deleted_at TEXT
);
CREATE INDEX interactions_account ON interactions(account_id, occurred_at, id);
CREATE INDEX interactions_contact ON interactions(contact_id, occurred_at, id);
CREATE INDEX interactions_occurred ON interactions(occurred_at, id);
CREATE INDEX interactions_owner ON interactions(owner_id, occurred_at, id);

-- Every contact who took part (the main contact and the others), so a meeting shows on
-- the timeline of each of them.
CREATE TABLE interaction_contacts (
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    interaction_id TEXT NOT NULL REFERENCES interactions(id) ON DELETE CASCADE,
    PRIMARY KEY (contact_id, interaction_id)
);
CREATE INDEX interaction_contacts_interaction ON interaction_contacts(interaction_id);

CREATE VIRTUAL TABLE interactions_search USING fts5(search, content='interactions', content_rowid='rowid', tokenize='trigram');
CREATE TRIGGER interactions_search_insert AFTER INSERT ON interactions BEGIN
    INSERT INTO interactions_search (rowid, search) VALUES (new.rowid, new.search);
END;
CREATE TRIGGER interactions_search_delete AFTER DELETE ON interactions BEGIN
    INSERT INTO interactions_search (interactions_search, rowid, search) VALUES ('delete', old.rowid, old.search);
END;
CREATE TRIGGER interactions_search_update AFTER UPDATE OF search ON interactions BEGIN
    INSERT INTO interactions_search (interactions_search, rowid, search) VALUES ('delete', old.rowid, old.search);
    INSERT INTO interactions_search (rowid, search) VALUES (new.rowid, new.search);
END;
