-- The access model: teams form a tree (a scope of "team" reaches the teams below), a
-- record can be shared with a user or a team (to read or to edit), and an administrator
-- can hide a field or make it read-only for a role.
-- Keep in step with ../postgres/0029_access_model.sql: a test compares the two.

ALTER TABLE teams ADD COLUMN parent_id TEXT REFERENCES teams(id);
CREATE INDEX teams_parent ON teams(parent_id);

-- One record shared with one user or one team. `access`: 'read' or 'edit'.
CREATE TABLE record_shares (
    id TEXT PRIMARY KEY,
    object TEXT NOT NULL,
    record_id TEXT NOT NULL,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    team_id TEXT REFERENCES teams(id) ON DELETE CASCADE,
    access TEXT NOT NULL CHECK (access IN ('read', 'edit')),
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    CHECK ((user_id IS NULL) <> (team_id IS NULL))
);
CREATE UNIQUE INDEX record_shares_user ON record_shares(user_id, object, record_id);
CREATE UNIQUE INDEX record_shares_team ON record_shares(team_id, object, record_id);
CREATE INDEX record_shares_record ON record_shares(object, record_id);

-- A field an administrator hid (`mode` 'hidden') or made read-only ('read_only') for a
-- role, everywhere: pages, API, exports, search, reports.
CREATE TABLE field_rules (
    role TEXT NOT NULL,
    object TEXT NOT NULL,
    field TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('hidden', 'read_only')),
    PRIMARY KEY (role, object, field)
);
