-- Tasks, calendar events, comments, reminders and the notifications they leave, the
-- scheduler's periodic jobs and private calendar feeds. Keep in step with the other
-- engine's 0014_tasks_events.sql.
CREATE TABLE tasks (
    id UUID PRIMARY KEY,
    title TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    priority TEXT,
    due_at TIMESTAMPTZ,
    remind_at TIMESTAMPTZ,
    team_id UUID REFERENCES teams(id),
    related JSONB,
    description TEXT,
    checklist JSONB,
    recurrence JSONB,
    series_id UUID,
    occurrence BIGINT,
    completed_at TIMESTAMPTZ,
    custom JSONB NOT NULL DEFAULT '{}',
    search TEXT NOT NULL DEFAULT '',
    owner_id UUID NOT NULL REFERENCES users(id),
    created_by UUID NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    deleted_at TIMESTAMPTZ
);
-- "My day" and the workload view read one assignee's unfinished tasks by deadline
-- through a partial index whose condition the queries repeat word for word. Then: what
-- an author waits for; a team's tasks; the tasks about one record; a repeating series.
CREATE INDEX tasks_active ON tasks(owner_id, COALESCE(due_at, TIMESTAMPTZ '9999-12-31 00:00:00+00'), id)
    WHERE status IN ('open', 'in_progress', 'returned') AND deleted_at IS NULL;
CREATE INDEX tasks_author ON tasks(created_by, status, id);
CREATE INDEX tasks_team ON tasks(team_id, status) WHERE team_id IS NOT NULL;
CREATE INDEX tasks_related ON tasks((related->>'id')) WHERE related IS NOT NULL;
CREATE INDEX tasks_series ON tasks(series_id) WHERE series_id IS NOT NULL;
CREATE INDEX tasks_due ON tasks(COALESCE(due_at, TIMESTAMPTZ '9999-12-31 00:00:00+00'), id);

CREATE INDEX tasks_search_trgm ON tasks USING gin (search gin_trgm_ops);
CREATE TABLE events (
    id UUID PRIMARY KEY,
    title TEXT NOT NULL,
    starts_at TIMESTAMPTZ NOT NULL,
    ends_at TIMESTAMPTZ NOT NULL,
    all_day BOOLEAN,
    location TEXT,
    status TEXT,
    related JSONB,
    user_ids JSONB,
    contact_ids JSONB,
    remind_before BIGINT,
    description TEXT,
    custom JSONB NOT NULL DEFAULT '{}',
    search TEXT NOT NULL DEFAULT '',
    owner_id UUID NOT NULL REFERENCES users(id),
    created_by UUID NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    deleted_at TIMESTAMPTZ
);
CREATE INDEX events_starts ON events(starts_at, id);
CREATE INDEX events_owner ON events(owner_id, starts_at, id);
CREATE INDEX events_related ON events((related->>'id')) WHERE related IS NOT NULL;

CREATE INDEX events_search_trgm ON events USING gin (search gin_trgm_ops);
-- Who is in each live event (the organiser and every participating user), with its
-- times: calendars and busy time read this by user and start.
CREATE TABLE event_users (
    event_id UUID NOT NULL REFERENCES events(id),
    user_id UUID NOT NULL REFERENCES users(id),
    starts_at TIMESTAMPTZ NOT NULL,
    ends_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (event_id, user_id)
);
CREATE INDEX event_users_user ON event_users(user_id, starts_at);

-- Comments on a record (a task's discussion, why it was returned).
CREATE TABLE comments (
    id UUID PRIMARY KEY,
    object TEXT NOT NULL,
    record_id UUID NOT NULL,
    author_id UUID NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL DEFAULT 'comment',
    body TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX comments_record ON comments(record_id, created_at);

-- Reminders waiting to be delivered. `key` makes each one unique (a task's deadline
-- reminder, a contact's birthday in a year), so servers that create the same reminder
-- create it once; a server claims due rows until `claimed_until` and marks them sent.
CREATE TABLE reminders (
    id UUID PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    user_id UUID NOT NULL REFERENCES users(id),
    object TEXT NOT NULL,
    record_id UUID NOT NULL,
    kind TEXT NOT NULL,
    due_at TIMESTAMPTZ NOT NULL,
    title TEXT NOT NULL,
    at TIMESTAMPTZ,
    claimed_by TEXT,
    claimed_until TIMESTAMPTZ,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_at TIMESTAMPTZ
);
CREATE INDEX reminders_due ON reminders(due_at) WHERE sent_at IS NULL;
CREATE INDEX reminders_record ON reminders(record_id) WHERE sent_at IS NULL;

-- What a user is told in the web UI (a banner until read).
CREATE TABLE notifications (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users(id),
    reminder_id UUID UNIQUE,
    kind TEXT NOT NULL,
    object TEXT,
    record_id UUID,
    title TEXT NOT NULL,
    at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    emailed_at TIMESTAMPTZ,
    read_at TIMESTAMPTZ
);
CREATE INDEX notifications_unread ON notifications(user_id, created_at) WHERE read_at IS NULL;
CREATE INDEX notifications_user ON notifications(user_id, created_at);

-- Periodic jobs (the daily key-date sweep): whichever server first moves `next_run_at`
-- runs the job.
CREATE TABLE schedules (
    name TEXT PRIMARY KEY,
    next_run_at TIMESTAMPTZ NOT NULL
);

-- Each user's private calendar feed address (only its hash is kept).
CREATE TABLE calendar_feeds (
    user_id UUID PRIMARY KEY REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
);

-- Date custom fields an administrator marks as key dates (contract renewals) remind
-- the record's owner.
ALTER TABLE custom_fields ADD COLUMN key_date BOOLEAN NOT NULL DEFAULT FALSE;

-- Birthdays by month and day (as month * 100 + day: to_char is not immutable), for the
-- daily sweep.
CREATE INDEX contacts_birthday ON contacts((EXTRACT(MONTH FROM birthday)::int * 100 + EXTRACT(DAY FROM birthday)::int)) WHERE birthday IS NOT NULL;
