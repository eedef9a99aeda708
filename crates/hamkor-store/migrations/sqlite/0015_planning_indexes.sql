-- Faster "my day" and calendars (measured in docs/benchmarks.md). Keep in step with the
-- other engine's 0015.
-- What an author gave others ("assigned by me", "waiting for my acceptance"): only the
-- tasks given to someone else, so an author's thousands of own tasks are not read; the
-- queries repeat the condition `created_by <> owner_id`.
DROP INDEX tasks_author;
CREATE INDEX tasks_given ON tasks(created_by, status, id)
    WHERE created_by <> owner_id AND deleted_at IS NULL;
-- A person's meetings by start, with their end and id: calendars read one index range
-- and no table.
DROP INDEX event_users_user;
CREATE INDEX event_users_span ON event_users(user_id, starts_at, ends_at, event_id);
