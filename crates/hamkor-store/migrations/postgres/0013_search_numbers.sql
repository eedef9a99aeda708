-- Phone numbers and tax ids of accounts and contacts, for number searches: each ending of
-- seven or more digits of a number is a key ('f' + digits), so that any piece of a number
-- that long (the full number, without the country code, the last seven digits, the
-- middle) is the beginning of a key: one range of this index. The "C" collation makes the ranges
-- byte ranges whatever the database's locale. Filled by the application (at start for
-- existing records). Keep in step with ../sqlite/0013_search_numbers.sql.
CREATE TABLE search_numbers (
    object TEXT NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    record_id UUID NOT NULL,
    PRIMARY KEY (object, key, record_id)
);
CREATE INDEX search_numbers_record ON search_numbers(record_id);
