-- PostgreSQL's migration 0003 adds row-level security policies. SQLite has no such thing
-- (one process owns the file); its tenant isolation is the queries' own filters. This file
-- keeps the version numbers of the two folders aligned.
SELECT 1;
