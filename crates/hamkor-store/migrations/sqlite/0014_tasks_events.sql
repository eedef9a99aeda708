-- Tasks, calendar events, comments, reminders and the notifications they leave, the
-- scheduler's periodic jobs and private calendar feeds. Keep in step with the other
-- engine's 0014_tasks_events.sql.
CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    priority TEXT,
    due_at TEXT,
    remind_at TEXT,
    team_id TEXT REFERENCES teams(id),
    related TEXT,
    description TEXT,
    checklist TEXT,
    recurrence TEXT,
    series_id TEXT,
    occurrence INTEGER,
    completed_at TEXT,
    custom TEXT NOT NULL DEFAULT '{}',
    search TEXT NOT NULL DEFAULT '',
    owner_id TEXT NOT NULL REFERENCES users(id),
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    deleted_at TEXT
);
-- "My day" and the workload view read one assignee's unfinished tasks by deadline
-- through a partial index whose condition the queries repeat word for word. Then: what
-- an author waits for; a team's tasks; the tasks about one record; a repeating series.
CREATE INDEX tasks_active ON tasks(owner_id, COALESCE(due_at, '9999-12-31T00:00:00.000000Z'), id)
    WHERE status IN ('open', 'in_progress', 'returned') AND deleted_at IS NULL;
CREATE INDEX tasks_author ON tasks(created_by, status, id);
CREATE INDEX tasks_team ON tasks(team_id, status) WHERE team_id IS NOT NULL;
CREATE INDEX tasks_related ON tasks(json_extract(related, '$.id')) WHERE related IS NOT NULL;
CREATE INDEX tasks_series ON tasks(series_id) WHERE series_id IS NOT NULL;
CREATE INDEX tasks_due ON tasks(COALESCE(due_at, '9999-12-31T00:00:00.000000Z'), id);

CREATE VIRTUAL TABLE tasks_search USING fts5(search, content='tasks', content_rowid='rowid', tokenize='trigram');
CREATE TRIGGER tasks_search_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO tasks_search (rowid, search) VALUES (new.rowid, new.search);
END;
CREATE TRIGGER tasks_search_delete AFTER DELETE ON tasks BEGIN
    INSERT INTO tasks_search (tasks_search, rowid, search) VALUES ('delete', old.rowid, old.search);
END;
CREATE TRIGGER tasks_search_update AFTER UPDATE OF search ON tasks BEGIN
    INSERT INTO tasks_search (tasks_search, rowid, search) VALUES ('delete', old.rowid, old.search);
    INSERT INTO tasks_search (rowid, search) VALUES (new.rowid, new.search);
END;

CREATE TABLE events (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    all_day INTEGER,
    location TEXT,
    status TEXT,
    related TEXT,
    user_ids TEXT,
    contact_ids TEXT,
    remind_before INTEGER,
    description TEXT,
    custom TEXT NOT NULL DEFAULT '{}',
    search TEXT NOT NULL DEFAULT '',
    owner_id TEXT NOT NULL REFERENCES users(id),
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    deleted_at TEXT
);
CREATE INDEX events_starts ON events(starts_at, id);
CREATE INDEX events_owner ON events(owner_id, starts_at, id);
CREATE INDEX events_related ON events(json_extract(related, '$.id')) WHERE related IS NOT NULL;

CREATE VIRTUAL TABLE events_search USING fts5(search, content='events', content_rowid='rowid', tokenize='trigram');
CREATE TRIGGER events_search_insert AFTER INSERT ON events BEGIN
    INSERT INTO events_search (rowid, search) VALUES (new.rowid, new.search);
END;
CREATE TRIGGER events_search_delete AFTER DELETE ON events BEGIN
    INSERT INTO events_search (events_search, rowid, search) VALUES ('delete', old.rowid, old.search);
END;
CREATE TRIGGER events_search_update AFTER UPDATE OF search ON events BEGIN
    INSERT INTO events_search (events_search, rowid, search) VALUES ('delete', old.rowid, old.search);
    INSERT INTO events_search (rowid, search) VALUES (new.rowid, new.search);
END;

-- Who is in each live event (the organiser and every participating user), with its
-- times: calendars and busy time read this by user and start.
CREATE TABLE event_users (
    event_id TEXT NOT NULL REFERENCES events(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    PRIMARY KEY (event_id, user_id)
);
CREATE INDEX event_users_user ON event_users(user_id, starts_at);

-- Comments on a record (a task's discussion, why it was returned).
CREATE TABLE comments (
    id TEXT PRIMARY KEY,
    object TEXT NOT NULL,
    record_id TEXT NOT NULL,
    author_id TEXT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL DEFAULT 'comment',
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX comments_record ON comments(record_id, created_at);

-- Reminders waiting to be delivered. `key` makes each one unique (a task's deadline
-- reminder, a contact's birthday in a year), so servers that create the same reminder
-- create it once; a server claims due rows until `claimed_until` and marks them sent.
CREATE TABLE reminders (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users(id),
    object TEXT NOT NULL,
    record_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    due_at TEXT NOT NULL,
    title TEXT NOT NULL,
    at TEXT,
    claimed_by TEXT,
    claimed_until TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_at TEXT
);
CREATE INDEX reminders_due ON reminders(due_at) WHERE sent_at IS NULL;
CREATE INDEX reminders_record ON reminders(record_id) WHERE sent_at IS NULL;

-- What a user is told in the web UI (a banner until read).
CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    reminder_id TEXT UNIQUE,
    kind TEXT NOT NULL,
    object TEXT,
    record_id TEXT,
    title TEXT NOT NULL,
    at TEXT,
    created_at TEXT NOT NULL,
    emailed_at TEXT,
    read_at TEXT
);
CREATE INDEX notifications_unread ON notifications(user_id, created_at) WHERE read_at IS NULL;
CREATE INDEX notifications_user ON notifications(user_id, created_at);

-- Periodic jobs (the daily key-date sweep): whichever server first moves `next_run_at`
-- runs the job.
CREATE TABLE schedules (
    name TEXT PRIMARY KEY,
    next_run_at TEXT NOT NULL
);

-- Each user's private calendar feed address (only its hash is kept).
CREATE TABLE calendar_feeds (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

-- Date custom fields an administrator marks as key dates (contract renewals) remind
-- the record's owner.
ALTER TABLE custom_fields ADD COLUMN key_date INTEGER NOT NULL DEFAULT 0;

-- Birthdays by month and day, for the daily sweep.
CREATE INDEX contacts_birthday ON contacts(substr(birthday, 6)) WHERE birthday IS NOT NULL;
