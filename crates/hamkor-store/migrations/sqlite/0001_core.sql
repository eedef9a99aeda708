-- Hamkor core schema (SQLite). Ids are UUIDv7 text, timestamps fixed-width UTC text
-- (YYYY-MM-DDTHH:MM:SS.ffffffZ) so text order is time order, JSON as text.
-- Keep in step with ../postgres/0001_core.sql: a test compares the two.

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    team_id TEXT REFERENCES teams(id),
    language TEXT,
    time_zone TEXT NOT NULL DEFAULT 'Asia/Tashkent',
    password_hash TEXT,
    setup_token_hash TEXT UNIQUE,
    setup_expires_at TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX users_team ON users(team_id);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE role_permissions (
    role TEXT NOT NULL,
    object TEXT NOT NULL,
    action TEXT NOT NULL,
    scope TEXT NOT NULL,
    PRIMARY KEY (role, object, action)
);

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT,
    legal_name TEXT,
    tax_id TEXT,
    parent_id TEXT REFERENCES accounts(id),
    phones TEXT,
    emails TEXT,
    website TEXT,
    industry TEXT,
    address TEXT,
    tags TEXT,
    custom TEXT NOT NULL DEFAULT '{}',
    search TEXT NOT NULL DEFAULT '',
    owner_id TEXT NOT NULL REFERENCES users(id),
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    deleted_at TEXT
);
CREATE INDEX accounts_owner ON accounts(owner_id, id);
CREATE INDEX accounts_name ON accounts(name, id);
CREATE INDEX accounts_updated ON accounts(updated_at, id);
CREATE INDEX accounts_tax_id ON accounts(tax_id);
CREATE INDEX accounts_parent ON accounts(parent_id);

CREATE TABLE contacts (
    id TEXT PRIMARY KEY,
    first_name TEXT,
    middle_name TEXT,
    last_name TEXT,
    phones TEXT,
    emails TEXT,
    birthday TEXT,
    tags TEXT,
    custom TEXT NOT NULL DEFAULT '{}',
    search TEXT NOT NULL DEFAULT '',
    owner_id TEXT NOT NULL REFERENCES users(id),
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    deleted_at TEXT
);
CREATE INDEX contacts_owner ON contacts(owner_id, id);
CREATE INDEX contacts_last_name ON contacts(last_name, id);
CREATE INDEX contacts_updated ON contacts(updated_at, id);

CREATE TABLE contact_accounts (
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    position TEXT,
    PRIMARY KEY (contact_id, account_id)
);
CREATE INDEX contact_accounts_account ON contact_accounts(account_id);

CREATE TABLE custom_fields (
    id TEXT PRIMARY KEY,
    object TEXT NOT NULL,
    key TEXT NOT NULL,
    label TEXT NOT NULL,
    kind TEXT NOT NULL,
    required INTEGER NOT NULL DEFAULT 0,
    options TEXT NOT NULL DEFAULT '[]',
    link_object TEXT,
    position INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    UNIQUE (object, key)
);

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    object TEXT NOT NULL,
    record_id TEXT NOT NULL,
    action TEXT NOT NULL,
    user_id TEXT REFERENCES users(id),
    at TEXT NOT NULL,
    changes TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_record ON audit_log(object, record_id, at);
