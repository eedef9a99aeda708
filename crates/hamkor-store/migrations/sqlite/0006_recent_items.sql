-- The records each user opened last, for the search box's "recent" list. Only the last
-- few per user are kept. Keep in step with the other engine's 0006_recent_items.sql.
CREATE TABLE recent_items (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    object TEXT NOT NULL,
    record_id TEXT NOT NULL,
    viewed_at TEXT NOT NULL,
    PRIMARY KEY (user_id, object, record_id)
);
CREATE INDEX recent_items_user ON recent_items(user_id, viewed_at);
