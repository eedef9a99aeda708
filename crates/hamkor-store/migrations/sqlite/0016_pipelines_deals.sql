-- Sales: pipelines (one per kind of sale) with ordered stages, deals moving through
-- them, and each deal's stage history. A new database starts with one pipeline so a
-- newcomer can sell at once. Keep in step with the other engine's 0016.
CREATE TABLE pipelines (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    -- 1: a deal cannot leave a stage whose required steps are not done; 0: a warning.
    enforce_steps INTEGER NOT NULL DEFAULT 1,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE stages (
    id TEXT PRIMARY KEY,
    pipeline_id TEXT NOT NULL REFERENCES pipelines(id),
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    probability INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
CREATE INDEX stages_pipeline ON stages(pipeline_id, position);

CREATE TABLE deals (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    pipeline_id TEXT NOT NULL REFERENCES pipelines(id),
    stage_id TEXT NOT NULL REFERENCES stages(id),
    status TEXT NOT NULL DEFAULT 'open',
    account_id TEXT REFERENCES accounts(id),
    contact_id TEXT REFERENCES contacts(id),
    amount INTEGER,
    currency TEXT,
    probability INTEGER,
    expected_close TEXT,
    lost_reason TEXT,
    source TEXT,
    description TEXT,
    stage_entered_at TEXT,
    closed_at TEXT,
    custom TEXT NOT NULL DEFAULT '{}',
    search TEXT NOT NULL DEFAULT '',
    owner_id TEXT NOT NULL REFERENCES users(id),
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    deleted_at TEXT
);
-- A kanban column: a stage's open deals, in board order.
CREATE INDEX deals_board ON deals(stage_id, COALESCE(expected_close, '9999-12-31'), id)
    WHERE status = 'open' AND deleted_at IS NULL;
CREATE INDEX deals_owner ON deals(owner_id, id);
CREATE INDEX deals_account ON deals(account_id, id);
CREATE INDEX deals_contact ON deals(contact_id, id);
CREATE INDEX deals_pipeline ON deals(pipeline_id, status, id);

CREATE VIRTUAL TABLE deals_search USING fts5(search, content='deals', content_rowid='rowid', tokenize='trigram');
CREATE TRIGGER deals_search_insert AFTER INSERT ON deals BEGIN
    INSERT INTO deals_search (rowid, search) VALUES (new.rowid, new.search);
END;
CREATE TRIGGER deals_search_delete AFTER DELETE ON deals BEGIN
    INSERT INTO deals_search (deals_search, rowid, search) VALUES ('delete', old.rowid, old.search);
END;
CREATE TRIGGER deals_search_update AFTER UPDATE OF search ON deals BEGIN
    INSERT INTO deals_search (deals_search, rowid, search) VALUES ('delete', old.rowid, old.search);
    INSERT INTO deals_search (rowid, search) VALUES (new.rowid, new.search);
END;

-- When a deal entered and left each stage, and by whom.
CREATE TABLE deal_stages (
    id TEXT PRIMARY KEY,
    deal_id TEXT NOT NULL REFERENCES deals(id),
    stage_id TEXT NOT NULL REFERENCES stages(id),
    entered_at TEXT NOT NULL,
    entered_by TEXT REFERENCES users(id),
    left_at TEXT,
    left_by TEXT REFERENCES users(id)
);
CREATE INDEX deal_stages_deal ON deal_stages(deal_id, entered_at);
CREATE INDEX deal_stages_stage ON deal_stages(stage_id, entered_at);

-- The default pipeline and why deals are lost.
INSERT INTO pipelines (id, name, position, enforce_steps, active, created_at, updated_at)
VALUES ('01900000-0000-7000-8000-000000000001', 'Sales', 0, 1, 1, '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z');
INSERT INTO stages (id, pipeline_id, name, position, probability, active, created_at) VALUES
('01900000-0000-7000-8000-000000000011', '01900000-0000-7000-8000-000000000001', 'New', 0, 10, 1, '2026-01-01T00:00:00.000000Z'),
('01900000-0000-7000-8000-000000000012', '01900000-0000-7000-8000-000000000001', 'Qualified', 1, 25, 1, '2026-01-01T00:00:00.000000Z'),
('01900000-0000-7000-8000-000000000013', '01900000-0000-7000-8000-000000000001', 'Proposal', 2, 50, 1, '2026-01-01T00:00:00.000000Z'),
('01900000-0000-7000-8000-000000000014', '01900000-0000-7000-8000-000000000001', 'Negotiation', 3, 75, 1, '2026-01-01T00:00:00.000000Z'),
('01900000-0000-7000-8000-000000000015', '01900000-0000-7000-8000-000000000001', 'Contract', 4, 90, 1, '2026-01-01T00:00:00.000000Z');
INSERT INTO picklist_values (list, value, position, active, created_at) VALUES
('lost_reasons', 'Price too high', 0, 1, '2026-01-01T00:00:00.000000Z'),
('lost_reasons', 'Chose a competitor', 1, 1, '2026-01-01T00:00:00.000000Z'),
('lost_reasons', 'No budget', 2, 1, '2026-01-01T00:00:00.000000Z'),
('lost_reasons', 'No decision', 3, 1, '2026-01-01T00:00:00.000000Z'),
('lost_reasons', 'Bad timing', 4, 1, '2026-01-01T00:00:00.000000Z'),
('lost_reasons', 'Other', 5, 1, '2026-01-01T00:00:00.000000Z');
