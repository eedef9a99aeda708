-- Interactions: calls, meetings, visits, e-mails, SMS, letters and notes in a client's
-- history. Timelines read them newest first per account and per contact, so those are
-- indexed with the time. Keep in step with ../sqlite/0005_interactions.sql.
CREATE TABLE interactions (
    id UUID PRIMARY KEY,
    kind TEXT NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    subject TEXT,
    account_id UUID REFERENCES accounts(id),
    contact_id UUID REFERENCES contacts(id),
    direction TEXT,
    duration BIGINT,
    result TEXT,
    recording_url TEXT,
    body TEXT,
    outcome TEXT,
    user_ids JSONB,
    contact_ids JSONB,
    custom JSONB NOT NULL DEFAULT '{}',
    search TEXT NOT NULL DEFAULT '',
    owner_id UUID NOT NULL REFERENCES users(id),
    created_by UUID NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    deleted_at TIMESTAMPTZ
);
CREATE INDEX interactions_account ON interactions(account_id, occurred_at, id);
CREATE INDEX interactions_contact ON interactions(contact_id, occurred_at, id);
CREATE INDEX interactions_occurred ON interactions(occurred_at, id);
CREATE INDEX interactions_owner ON interactions(owner_id, occurred_at, id);

-- Every contact who took part (the main contact and the others), so a meeting shows on
-- the timeline of each of them.
CREATE TABLE interaction_contacts (
    contact_id UUID NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    interaction_id UUID NOT NULL REFERENCES interactions(id) ON DELETE CASCADE,
    PRIMARY KEY (contact_id, interaction_id)
);
CREATE INDEX interaction_contacts_interaction ON interaction_contacts(interaction_id);

CREATE INDEX interactions_search_trgm ON interactions USING gin (search gin_trgm_ops);
