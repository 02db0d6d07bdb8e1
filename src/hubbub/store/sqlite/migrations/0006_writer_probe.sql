-- One row the writer rewrites to prove it can still commit: at start (a read-only or full
-- database is refused before the hub serves) and for /api/v1/ready.
CREATE TABLE writer_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    probed_at INTEGER NOT NULL
);
