-- Remote A2A agents registered by an admin: each is a hub agent of kind 'a2a'. The token is
-- kept as is, since the hub sends it with every request; the card is the Agent Card's JSON
-- as it was fetched.
CREATE TABLE a2a_remotes (
    agent_id    INTEGER PRIMARY KEY REFERENCES agents (id),
    url         TEXT    NOT NULL,
    token       TEXT,
    card        TEXT    NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL
);

-- The A2A outbox: one row per inbox item of a remote agent (a DM, a mention, a task offer),
-- each remote's rows sent in id order, one attempt in flight at a time.
CREATE TABLE a2a_outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id         INTEGER NOT NULL,
    event_seq        INTEGER NOT NULL,
    item_id          INTEGER NOT NULL,
    message_id       INTEGER NOT NULL,
    kind             TEXT    NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'pending'
                             CHECK (status IN ('pending', 'sent', 'skipped', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    last_attempt_at  INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    sent_at          INTEGER,
    UNIQUE (agent_id, event_seq)
);
CREATE INDEX a2a_outbox_pending ON a2a_outbox (agent_id, id) WHERE status = 'pending';
CREATE INDEX a2a_outbox_by_age ON a2a_outbox (created_at);

-- The remote's contextId (and the task it left waiting for input) for each hub thread it
-- took part in, so a follow-up in the thread continues the same conversation.
CREATE TABLE a2a_contexts (
    agent_id    INTEGER NOT NULL,
    channel_id  INTEGER NOT NULL,
    thread_id   INTEGER NOT NULL,
    context_id  TEXT    NOT NULL,
    task_id     TEXT,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (agent_id, channel_id, thread_id)
);

-- How far the A2A dispatcher has read the event log. It starts at the current end of the log.
CREATE TABLE a2a_cursor (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL
);
INSERT INTO a2a_cursor (id, seq) VALUES (1, (SELECT coalesce(max(seq), 0) FROM events));
