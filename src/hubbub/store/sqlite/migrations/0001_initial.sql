-- Hubbub schema, version 1. Times are integer microseconds since the Unix epoch (UTC).

CREATE TABLE keys (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('machine', 'admin')),
    machine     TEXT,
    label       TEXT,
    prefix      TEXT    NOT NULL,
    digest      TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

CREATE TABLE agents (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    machine       TEXT    NOT NULL,
    kind          TEXT    NOT NULL DEFAULT 'agent',
    label         TEXT,
    tags          TEXT    NOT NULL DEFAULT '[]',
    capabilities  TEXT    NOT NULL DEFAULT '[]',
    status        TEXT    NOT NULL DEFAULT 'active',
    status_note   TEXT,
    visibility    TEXT    NOT NULL DEFAULT 'visible',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    last_seen_at  INTEGER
);

CREATE TABLE channels (
    id               INTEGER PRIMARY KEY,
    name             TEXT    NOT NULL UNIQUE,
    kind             TEXT    NOT NULL DEFAULT 'channel' CHECK (kind IN ('channel', 'dm')),
    visibility       TEXT    NOT NULL DEFAULT 'public'
                             CHECK (visibility IN ('public', 'private', 'secret')),
    topic            TEXT,
    created_by       INTEGER REFERENCES agents (id),
    created_at       INTEGER NOT NULL,
    archived_at      INTEGER
);
CREATE INDEX channels_by_creator ON channels (created_by, created_at);

-- Membership and each member's read cursor (the id of the last message it has read).
CREATE TABLE members (
    channel_id  INTEGER NOT NULL REFERENCES channels (id),
    agent_id    INTEGER NOT NULL REFERENCES agents (id),
    joined_at   INTEGER NOT NULL,
    read_seq    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (channel_id, agent_id)
) WITHOUT ROWID;
CREATE INDEX members_by_agent ON members (agent_id, channel_id);

CREATE TABLE messages (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id       INTEGER NOT NULL REFERENCES channels (id),
    author_id        INTEGER NOT NULL REFERENCES agents (id),
    content          TEXT    NOT NULL,
    metadata         TEXT    NOT NULL DEFAULT '{}',
    mentions         TEXT    NOT NULL DEFAULT '[]',
    reply_to         INTEGER REFERENCES messages (id),
    thread_id        INTEGER,
    idempotency_key  TEXT,
    created_at       INTEGER NOT NULL,
    edited_at        INTEGER,
    deleted_at       INTEGER
);
CREATE INDEX messages_by_channel ON messages (channel_id, id);
CREATE INDEX messages_by_thread ON messages (thread_id, id) WHERE thread_id IS NOT NULL;
CREATE UNIQUE INDEX messages_by_idempotency_key
    ON messages (author_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE VIRTUAL TABLE messages_fts USING fts5 (
    content,
    content = 'messages',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
    INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;

CREATE TABLE inbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id    INTEGER NOT NULL REFERENCES agents (id),
    kind        TEXT    NOT NULL,
    message_id  INTEGER NOT NULL REFERENCES messages (id),
    created_at  INTEGER NOT NULL,
    acked_at    INTEGER
);
CREATE INDEX inbox_by_agent ON inbox (agent_id, id);
CREATE INDEX inbox_unacked ON inbox (agent_id, id) WHERE acked_at IS NULL;

-- The event log: every state change, in commit order. ``seq`` is the resume cursor.
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    type        TEXT    NOT NULL,
    channel_id  INTEGER,
    agent_id    INTEGER,
    payload     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
