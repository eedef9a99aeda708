-- Saved list views: a name and the list's query (filters, search, sort, columns), kept
-- per user, or shared with everyone. Keep in step with the other engine's 0009.
CREATE TABLE saved_views (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    object TEXT NOT NULL,
    name TEXT NOT NULL,
    params TEXT NOT NULL,
    shared INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX saved_views_user ON saved_views(user_id, object);
CREATE INDEX saved_views_shared ON saved_views(object, shared);
