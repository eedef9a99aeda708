-- Hamkor core schema (PostgreSQL). Ids are UUIDv7 (uuid), timestamps timestamptz,
-- JSON as jsonb.
-- Keep in step with ../sqlite/0001_core.sql: a test compares the two.

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE teams (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id UUID PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    team_id UUID REFERENCES teams(id),
    language TEXT,
    time_zone TEXT NOT NULL DEFAULT 'Asia/Tashkent',
    password_hash TEXT,
    setup_token_hash TEXT UNIQUE,
    setup_expires_at TIMESTAMPTZ,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX users_team ON users(team_id);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
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
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT,
    legal_name TEXT,
    tax_id TEXT,
    parent_id UUID REFERENCES accounts(id),
    phones JSONB,
    emails JSONB,
    website TEXT,
    industry TEXT,
    address TEXT,
    tags JSONB,
    custom JSONB NOT NULL DEFAULT '{}',
    search TEXT NOT NULL DEFAULT '',
    owner_id UUID NOT NULL REFERENCES users(id),
    created_by UUID NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    deleted_at TIMESTAMPTZ
);
CREATE INDEX accounts_owner ON accounts(owner_id, id);
CREATE INDEX accounts_name ON accounts(name, id);
CREATE INDEX accounts_updated ON accounts(updated_at, id);
CREATE INDEX accounts_tax_id ON accounts(tax_id);
CREATE INDEX accounts_parent ON accounts(parent_id);

CREATE TABLE contacts (
    id UUID PRIMARY KEY,
    first_name TEXT,
    middle_name TEXT,
    last_name TEXT,
    phones JSONB,
    emails JSONB,
    birthday DATE,
    tags JSONB,
    custom JSONB NOT NULL DEFAULT '{}',
    search TEXT NOT NULL DEFAULT '',
    owner_id UUID NOT NULL REFERENCES users(id),
    created_by UUID NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    deleted_at TIMESTAMPTZ
);
CREATE INDEX contacts_owner ON contacts(owner_id, id);
CREATE INDEX contacts_last_name ON contacts(last_name, id);
CREATE INDEX contacts_updated ON contacts(updated_at, id);

CREATE TABLE contact_accounts (
    contact_id UUID NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    account_id UUID NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    position TEXT,
    PRIMARY KEY (contact_id, account_id)
);
CREATE INDEX contact_accounts_account ON contact_accounts(account_id);

CREATE TABLE custom_fields (
    id UUID PRIMARY KEY,
    object TEXT NOT NULL,
    key TEXT NOT NULL,
    label TEXT NOT NULL,
    kind TEXT NOT NULL,
    required BOOLEAN NOT NULL DEFAULT FALSE,
    options JSONB NOT NULL DEFAULT '[]',
    link_object TEXT,
    position BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (object, key)
);

CREATE TABLE audit_log (
    id UUID PRIMARY KEY,
    object TEXT NOT NULL,
    record_id UUID NOT NULL,
    action TEXT NOT NULL,
    user_id UUID REFERENCES users(id),
    at TIMESTAMPTZ NOT NULL,
    changes JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_record ON audit_log(object, record_id, at);
