-- SQLite's search indexes get a merge setting in this version (see the SQLite migration);
-- PostgreSQL's GIN indexes need nothing. Kept so both engines share their versions.
SELECT 1;
