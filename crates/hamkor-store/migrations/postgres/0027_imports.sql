-- Imports: the uploaded file (in chunks, so a server reads it as a stream and any server
-- can resume the job), the choices made, progress, and what each batch wrote (for undo).
CREATE TABLE imports (
    id UUID PRIMARY KEY,
    object TEXT NOT NULL,
    file_name TEXT NOT NULL,
    format TEXT NOT NULL,
    encoding TEXT,
    delimiter TEXT,
    sheets JSONB NOT NULL DEFAULT '[]',
    size BIGINT NOT NULL,
    settings JSONB NOT NULL DEFAULT '{}',
    status TEXT NOT NULL,
    total_rows BIGINT,
    next_row BIGINT NOT NULL DEFAULT 0,
    created BIGINT NOT NULL DEFAULT 0,
    updated BIGINT NOT NULL DEFAULT 0,
    skipped BIGINT NOT NULL DEFAULT 0,
    rejected BIGINT NOT NULL DEFAULT 0,
    report JSONB NOT NULL DEFAULT '{}',
    error TEXT,
    cancel BIGINT NOT NULL DEFAULT 0,
    lease_until TIMESTAMPTZ,
    lease_owner TEXT,
    owner_id UUID NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ
);
CREATE INDEX imports_owner ON imports(owner_id, created_at);
CREATE INDEX imports_status ON imports(status);

CREATE TABLE import_chunks (
    import_id UUID NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (import_id, seq)
);

CREATE TABLE import_batches (
    import_id UUID NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    first_row BIGINT NOT NULL,
    created JSONB NOT NULL DEFAULT '[]',
    updated JSONB NOT NULL DEFAULT '[]',
    PRIMARY KEY (import_id, first_row)
);

CREATE TABLE import_rejects (
    import_id UUID NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    row_no BIGINT NOT NULL,
    cells JSONB NOT NULL,
    errors JSONB NOT NULL,
    PRIMARY KEY (import_id, row_no)
);

CREATE TABLE import_mappings (
    id UUID PRIMARY KEY,
    object TEXT NOT NULL,
    name TEXT NOT NULL,
    columns JSONB NOT NULL,
    owner_id UUID NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (object, name)
);
