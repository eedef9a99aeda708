-- Saved list views: a name and the list's query (filters, search, sort, columns), kept
-- per user, or shared with everyone. Keep in step with the other engine's 0009.
CREATE TABLE saved_views (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    object TEXT NOT NULL,
    name TEXT NOT NULL,
    params TEXT NOT NULL,
    shared BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX saved_views_user ON saved_views(user_id, object);
CREATE INDEX saved_views_shared ON saved_views(object, shared);
