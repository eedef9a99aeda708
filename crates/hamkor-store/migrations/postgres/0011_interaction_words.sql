-- SQLite replaces its trigram index on interactions with a word index here (see
-- ../sqlite/0011_interaction_words.sql). PostgreSQL's pg_trgm GIN index serves both
-- kinds of query, so nothing changes on this engine; the file keeps the two migration
-- sets in step.
SELECT 1;
