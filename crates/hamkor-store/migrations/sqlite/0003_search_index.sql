-- Search (`?q=`, the global search box) looks for words anywhere in the folded `search`
-- text. A trigram FTS5 index over that column answers LIKE '%word%' without reading every
-- record. External content: the index reads the text from the table; triggers keep it in
-- step. Keep in step with ../postgres/0003_search_index.sql.
CREATE VIRTUAL TABLE accounts_search USING fts5(search, content='accounts', content_rowid='rowid', tokenize='trigram');
CREATE TRIGGER accounts_search_insert AFTER INSERT ON accounts BEGIN
    INSERT INTO accounts_search (rowid, search) VALUES (new.rowid, new.search);
END;
CREATE TRIGGER accounts_search_delete AFTER DELETE ON accounts BEGIN
    INSERT INTO accounts_search (accounts_search, rowid, search) VALUES ('delete', old.rowid, old.search);
END;
CREATE TRIGGER accounts_search_update AFTER UPDATE OF search ON accounts BEGIN
    INSERT INTO accounts_search (accounts_search, rowid, search) VALUES ('delete', old.rowid, old.search);
    INSERT INTO accounts_search (rowid, search) VALUES (new.rowid, new.search);
END;
INSERT INTO accounts_search (accounts_search) VALUES ('rebuild');

CREATE VIRTUAL TABLE contacts_search USING fts5(search, content='contacts', content_rowid='rowid', tokenize='trigram');
CREATE TRIGGER contacts_search_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_search (rowid, search) VALUES (new.rowid, new.search);
END;
CREATE TRIGGER contacts_search_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO contacts_search (contacts_search, rowid, search) VALUES ('delete', old.rowid, old.search);
END;
CREATE TRIGGER contacts_search_update AFTER UPDATE OF search ON contacts BEGIN
    INSERT INTO contacts_search (contacts_search, rowid, search) VALUES ('delete', old.rowid, old.search);
    INSERT INTO contacts_search (rowid, search) VALUES (new.rowid, new.search);
END;
INSERT INTO contacts_search (contacts_search) VALUES ('rebuild');
