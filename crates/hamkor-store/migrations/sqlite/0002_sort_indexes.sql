-- Lists sort text columns by COALESCE(column, '') so that empty values have a place in
-- keyset pagination; index the same expressions so sorted first pages read an index
-- instead of sorting the table. Keep in step with ../postgres/0002_sort_indexes.sql.
DROP INDEX accounts_name;
CREATE INDEX accounts_name ON accounts (COALESCE(name, ''), id);
DROP INDEX contacts_last_name;
CREATE INDEX contacts_last_name ON contacts (COALESCE(last_name, ''), id);
CREATE INDEX contacts_first_name ON contacts (COALESCE(first_name, ''), id);
CREATE INDEX accounts_created ON accounts (created_at, id);
CREATE INDEX contacts_created ON contacts (created_at, id);
