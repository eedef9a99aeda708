-- Duplicates of accounts and contacts. `dup_keys` holds each live record's blocking keys
-- (a phone in E.164, a canonical e-mail, a tax id, a normalised name and its sound, each
-- prefixed by its kind: 'p:998901234567'), kept in step by the application on every
-- write; records sharing a key are compared. A full scan's state and the groups it found
-- survive restarts; `merges` keeps what each merge moved, so it can be undone. Keep in
-- step with ../postgres/0025_duplicates.sql.
CREATE TABLE dup_keys (
    object TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    record_id TEXT NOT NULL,
    PRIMARY KEY (object, key, record_id)
) WITHOUT ROWID;
CREATE INDEX dup_keys_record ON dup_keys(record_id);

CREATE TABLE dup_scans (
    object TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    started_by TEXT REFERENCES users(id),
    records INTEGER NOT NULL DEFAULT 0,
    pairs INTEGER NOT NULL DEFAULT 0,
    groups_found INTEGER NOT NULL DEFAULT 0,
    error TEXT
);

CREATE TABLE dup_groups (
    id TEXT PRIMARY KEY,
    object TEXT NOT NULL,
    score INTEGER NOT NULL,
    record_ids TEXT NOT NULL,
    pairs TEXT NOT NULL
);
CREATE INDEX dup_groups_object ON dup_groups(object, score, id);

CREATE TABLE merges (
    id TEXT PRIMARY KEY,
    object TEXT NOT NULL,
    survivor_id TEXT NOT NULL,
    merged_ids TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    undo TEXT NOT NULL,
    undone_at TEXT,
    undone_by TEXT REFERENCES users(id)
);
CREATE INDEX merges_survivor ON merges(survivor_id, created_at);

-- A database without clients needs no backfill of the keys (see App::refresh_dup_keys).
INSERT INTO settings (key, value)
SELECT 'dup_key_version', '1'
WHERE NOT EXISTS (SELECT 1 FROM accounts) AND NOT EXISTS (SELECT 1 FROM contacts);
