-- Leads: unqualified prospects, the public web forms that bring them in, the rules
-- that give each new lead an owner, and what a converted lead became. Keep in step
-- with the other engine's 0023.
CREATE TABLE leads (
    id TEXT PRIMARY KEY,
    first_name TEXT,
    last_name TEXT,
    company TEXT,
    job_title TEXT,
    phones TEXT,
    emails TEXT,
    source TEXT,
    campaign TEXT,
    interest TEXT,
    status TEXT NOT NULL DEFAULT 'new',
    status_reason TEXT,
    team_id TEXT REFERENCES teams(id),
    web_form TEXT,
    notes TEXT,
    converted_at TEXT,
    account_id TEXT REFERENCES accounts(id),
    contact_id TEXT REFERENCES contacts(id),
    deal_id TEXT REFERENCES deals(id),
    custom TEXT NOT NULL DEFAULT '{}',
    search TEXT NOT NULL DEFAULT '',
    owner_id TEXT NOT NULL REFERENCES users(id),
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    deleted_at TEXT
);
CREATE INDEX leads_owner ON leads(owner_id, id);
CREATE INDEX leads_status ON leads(status, id);
CREATE INDEX leads_created ON leads(created_at, id);
CREATE INDEX leads_last_name ON leads(COALESCE(last_name, ''), id);
CREATE INDEX leads_company ON leads(COALESCE(company, ''), id);

CREATE VIRTUAL TABLE leads_search USING fts5(search, content='leads', content_rowid='rowid', tokenize='trigram');
CREATE TRIGGER leads_search_insert AFTER INSERT ON leads BEGIN
    INSERT INTO leads_search (rowid, search) VALUES (new.rowid, new.search);
END;
CREATE TRIGGER leads_search_delete AFTER DELETE ON leads BEGIN
    INSERT INTO leads_search (leads_search, rowid, search) VALUES ('delete', old.rowid, old.search);
END;
CREATE TRIGGER leads_search_update AFTER UPDATE OF search ON leads BEGIN
    INSERT INTO leads_search (leads_search, rowid, search) VALUES ('delete', old.rowid, old.search);
    INSERT INTO leads_search (rowid, search) VALUES (new.rowid, new.search);
END;

-- Where a contact and a deal came from (a converted lead keeps its source on them).
ALTER TABLE contacts ADD COLUMN source TEXT;
ALTER TABLE deals ADD COLUMN lead_id TEXT REFERENCES leads(id);

-- A public form on the company's site. `token` is the form's address; `fields` the
-- lead fields it asks for (JSON list), `required` those that must be filled.
CREATE TABLE web_forms (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    fields TEXT NOT NULL,
    required TEXT NOT NULL,
    source TEXT,
    campaign TEXT,
    owner_id TEXT NOT NULL REFERENCES users(id),
    thank_you TEXT,
    redirect_url TEXT,
    language TEXT NOT NULL DEFAULT 'en',
    active INTEGER NOT NULL DEFAULT 1,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Recent submissions per form and address, for the rate limit (kept a day).
CREATE TABLE web_form_hits (
    form_id TEXT NOT NULL REFERENCES web_forms(id) ON DELETE CASCADE,
    ip TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX web_form_hits_key ON web_form_hits(form_id, ip, at);
CREATE INDEX web_form_hits_at ON web_form_hits(at);

-- Who a new lead goes to: the first active rule (by position) whose conditions all hold
-- gives it to a user, or in turn to the members of a team.
CREATE TABLE lead_rules (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    conditions TEXT NOT NULL,
    user_id TEXT REFERENCES users(id),
    team_id TEXT REFERENCES teams(id),
    last_user_id TEXT REFERENCES users(id),
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
