-- Files attached to records (accounts, contacts, interactions, needs). Kept in the
-- database with the records, so one backup holds both; the content type was read from
-- the content when it was uploaded. Keep in step with the other engine's 0010.
CREATE TABLE attachments (
    id TEXT PRIMARY KEY,
    object TEXT NOT NULL,
    record_id TEXT NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    data BLOB NOT NULL,
    uploaded_by TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX attachments_record ON attachments(object, record_id, created_at);
