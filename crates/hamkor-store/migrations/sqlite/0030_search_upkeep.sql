-- The search indexes' merge command (`hamkor_store::fts::tidy`) merges two segments of a
-- level, not FTS5's default four: a search asks every segment, so fewer is quicker.
INSERT INTO accounts_search (accounts_search, rank) VALUES ('usermerge', 2);
INSERT INTO contacts_search (contacts_search, rank) VALUES ('usermerge', 2);
INSERT INTO interactions_search (interactions_search, rank) VALUES ('usermerge', 2);
INSERT INTO needs_search (needs_search, rank) VALUES ('usermerge', 2);
INSERT INTO tasks_search (tasks_search, rank) VALUES ('usermerge', 2);
INSERT INTO events_search (events_search, rank) VALUES ('usermerge', 2);
INSERT INTO deals_search (deals_search, rank) VALUES ('usermerge', 2);
INSERT INTO products_search (products_search, rank) VALUES ('usermerge', 2);
INSERT INTO leads_search (leads_search, rank) VALUES ('usermerge', 2);
INSERT INTO documents_search (documents_search, rank) VALUES ('usermerge', 2);
