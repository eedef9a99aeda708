-- Interactions are many (millions) and their text is long: a trigram index over it grows
-- to several times the text. They are searched by words instead (prefixes of folded
-- words, `"muzok"*`), which a word index answers at a fraction of the size. Accounts
-- and contacts keep trigrams: names and numbers are searched by any part.
-- PostgreSQL keeps its trigram index (see ../postgres/0011_interaction_words.sql).
DROP TRIGGER interactions_search_insert;
DROP TRIGGER interactions_search_delete;
DROP TRIGGER interactions_search_update;
DROP TABLE interactions_search;
CREATE VIRTUAL TABLE interactions_search USING fts5(search, content='interactions', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2', prefix='3');
CREATE TRIGGER interactions_search_insert AFTER INSERT ON interactions BEGIN
    INSERT INTO interactions_search (rowid, search) VALUES (new.rowid, new.search);
END;
CREATE TRIGGER interactions_search_delete AFTER DELETE ON interactions BEGIN
    INSERT INTO interactions_search (interactions_search, rowid, search) VALUES ('delete', old.rowid, old.search);
END;
CREATE TRIGGER interactions_search_update AFTER UPDATE OF search ON interactions BEGIN
    INSERT INTO interactions_search (interactions_search, rowid, search) VALUES ('delete', old.rowid, old.search);
    INSERT INTO interactions_search (rowid, search) VALUES (new.rowid, new.search);
END;
INSERT INTO interactions_search (interactions_search) VALUES ('rebuild');
