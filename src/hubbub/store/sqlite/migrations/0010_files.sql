-- Files shared in channels and DMs. Their bytes are blobs, kept once per content (by
-- SHA-256) however many files name them, and stored in chunks written one small write at a
-- time, so an upload never holds the writer for long.
--
-- A blob without a sha256 is loose: being uploaded (touched_at moves with each chunk), cut
-- off (touched_at stopped moving), or let go (touched_at 0: its upload was refused or found
-- a blob of the same content, or its last file was deleted). Loose blobs are invisible; the
-- hub frees them, a few chunks a write. A blob gets its sha256 and its first reference in the
-- write that records its first file, in the same transaction as that file's message.
CREATE TABLE blobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256      TEXT UNIQUE,
    size        INTEGER NOT NULL DEFAULT 0,
    chunks      INTEGER NOT NULL DEFAULT 0,
    refs        INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    touched_at  INTEGER NOT NULL
);
CREATE INDEX blobs_loose ON blobs (touched_at) WHERE sha256 IS NULL;

-- A blob's bytes: chunk n of blob_id, in order from 0.
CREATE TABLE blob_chunks (
    blob_id  INTEGER NOT NULL REFERENCES blobs (id),
    n        INTEGER NOT NULL,
    data     BLOB    NOT NULL,
    PRIMARY KEY (blob_id, n)
);

-- A file: a name for a blob in a channel or DM, attached to the message that shared it.
-- machine is the uploader's, whose quota the file counts against while it exists.
CREATE TABLE files (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    blob_id       INTEGER NOT NULL REFERENCES blobs (id),
    channel_id    INTEGER NOT NULL REFERENCES channels (id),
    message_id    INTEGER REFERENCES messages (id),
    uploader_id   INTEGER NOT NULL REFERENCES agents (id),
    machine       TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    content_type  TEXT    NOT NULL,
    size          INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX files_by_channel ON files (channel_id, id);
CREATE INDEX files_by_message ON files (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX files_by_machine ON files (machine);
CREATE INDEX files_by_blob ON files (blob_id);
CREATE INDEX files_by_age ON files (created_at);
