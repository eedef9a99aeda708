-- Imports: the uploaded file (in chunks, so a server reads it as a stream and any server
-- can resume the job), the choices made, progress, and what each batch wrote (for undo).
CREATE TABLE imports (
    id TEXT PRIMARY KEY,
    object TEXT NOT NULL,
    file_name TEXT NOT NULL,
    format TEXT NOT NULL,
    encoding TEXT,
    delimiter TEXT,
    sheets TEXT NOT NULL DEFAULT '[]',
    size INTEGER NOT NULL,
    settings TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL,
    total_rows INTEGER,
    next_row INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    report TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    cancel INTEGER NOT NULL DEFAULT 0,
    lease_until TEXT,
    lease_owner TEXT,
    owner_id TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
);
CREATE INDEX imports_owner ON imports(owner_id, created_at);
CREATE INDEX imports_status ON imports(status);

CREATE TABLE import_chunks (
    import_id TEXT NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (import_id, seq)
);

CREATE TABLE import_batches (
    import_id TEXT NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    first_row INTEGER NOT NULL,
    created TEXT NOT NULL DEFAULT '[]',
    updated TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (import_id, first_row)
);

CREATE TABLE import_rejects (
    import_id TEXT NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    row_no INTEGER NOT NULL,
    cells TEXT NOT NULL,
    errors TEXT NOT NULL,
    PRIMARY KEY (import_id, row_no)
);

CREATE TABLE import_mappings (
    id TEXT PRIMARY KEY,
    object TEXT NOT NULL,
    name TEXT NOT NULL,
    columns TEXT NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    UNIQUE (object, name)
);
