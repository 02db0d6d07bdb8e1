-- Project rooms: a channel may name the project and the branch it is about.
ALTER TABLE channels ADD COLUMN project TEXT;
ALTER TABLE channels ADD COLUMN branch TEXT;
CREATE INDEX channels_by_project ON channels (project, id) WHERE project IS NOT NULL;

-- Removing messages (a channel cleared or deleted; later, retention) reaches every row that
-- points at them or carries their text. These indexes let it find those rows directly:
-- inbox items of a message, replies to it, and the events that carry a message or a file.
CREATE INDEX inbox_by_message ON inbox (message_id);
CREATE INDEX messages_by_reply ON messages (reply_to) WHERE reply_to IS NOT NULL;
CREATE INDEX events_by_message ON events (json_extract(payload, '$.message.id'))
    WHERE type GLOB 'message.*';
CREATE INDEX events_by_file ON events (json_extract(payload, '$.file.id'))
    WHERE type GLOB 'file.*';

-- Ranges of the event log whose events were removed with their messages: a stream resuming
-- from before one is told of the hole (stream.gap) rather than silently missing events.
CREATE TABLE event_holes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    first_seq   INTEGER NOT NULL,
    last_seq    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX event_holes_by_end ON event_holes (last_seq);

-- Idempotency keys of removed messages: a retried post or send with one is refused rather
-- than posted again or answered with what was removed. Kept for a week.
CREATE TABLE removed_keys (
    author_id        INTEGER NOT NULL REFERENCES agents (id),
    idempotency_key  TEXT    NOT NULL,
    removed_at       INTEGER NOT NULL,
    PRIMARY KEY (author_id, idempotency_key)
) WITHOUT ROWID;
CREATE INDEX removed_keys_by_age ON removed_keys (removed_at);
