-- Leads: unqualified prospects, the public web forms that bring them in, the rules
-- that give each new lead an owner, and what a converted lead became. Keep in step
-- with the other engine's 0023.
CREATE TABLE leads (
    id UUID PRIMARY KEY,
    first_name TEXT,
    last_name TEXT,
    company TEXT,
    job_title TEXT,
    phones JSONB,
    emails JSONB,
    source TEXT,
    campaign TEXT,
    interest TEXT,
    status TEXT NOT NULL DEFAULT 'new',
    status_reason TEXT,
    team_id UUID REFERENCES teams(id),
    web_form TEXT,
    notes TEXT,
    converted_at TIMESTAMPTZ,
    account_id UUID REFERENCES accounts(id),
    contact_id UUID REFERENCES contacts(id),
    deal_id UUID REFERENCES deals(id),
    custom JSONB NOT NULL DEFAULT '{}',
    search TEXT NOT NULL DEFAULT '',
    owner_id UUID NOT NULL REFERENCES users(id),
    created_by UUID NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    deleted_at TIMESTAMPTZ
);
CREATE INDEX leads_owner ON leads(owner_id, id);
CREATE INDEX leads_status ON leads(status, id);
CREATE INDEX leads_created ON leads(created_at, id);
CREATE INDEX leads_last_name ON leads(COALESCE(last_name, ''), id);
CREATE INDEX leads_company ON leads(COALESCE(company, ''), id);

CREATE INDEX leads_search_trgm ON leads USING gin (search gin_trgm_ops);

-- Where a contact and a deal came from (a converted lead keeps its source on them).
ALTER TABLE contacts ADD COLUMN source TEXT;
ALTER TABLE deals ADD COLUMN lead_id UUID REFERENCES leads(id);

-- A public form on the company's site. `token` is the form's address; `fields` the
-- lead fields it asks for (JSON list), `required` those that must be filled.
CREATE TABLE web_forms (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    fields JSONB NOT NULL,
    required JSONB NOT NULL,
    source TEXT,
    campaign TEXT,
    owner_id UUID NOT NULL REFERENCES users(id),
    thank_you TEXT,
    redirect_url TEXT,
    language TEXT NOT NULL DEFAULT 'en',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_by UUID NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Recent submissions per form and address, for the rate limit (kept a day).
CREATE TABLE web_form_hits (
    form_id UUID NOT NULL REFERENCES web_forms(id) ON DELETE CASCADE,
    ip TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX web_form_hits_key ON web_form_hits(form_id, ip, at);
CREATE INDEX web_form_hits_at ON web_form_hits(at);

-- Who a new lead goes to: the first active rule (by position) whose conditions all hold
-- gives it to a user, or in turn to the members of a team.
CREATE TABLE lead_rules (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    position BIGINT NOT NULL,
    conditions JSONB NOT NULL,
    user_id UUID REFERENCES users(id),
    team_id UUID REFERENCES teams(id),
    last_user_id UUID REFERENCES users(id),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
