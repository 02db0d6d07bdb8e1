-- Nothing to change here: SQLite's FTS5 table already holds each message's indexed words
-- (this number adds PostgreSQL's stored search vector).
SELECT 1;
