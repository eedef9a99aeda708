-- Search (`?q=`, the global search box) looks for words anywhere in the folded `search`
-- text. A trigram GIN index answers LIKE '%word%' without reading every record.
-- Keep in step with ../sqlite/0003_search_index.sql.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX accounts_search_trgm ON accounts USING gin (search gin_trgm_ops);
CREATE INDEX contacts_search_trgm ON contacts USING gin (search gin_trgm_ops);
