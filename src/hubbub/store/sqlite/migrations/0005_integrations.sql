-- Integrations: scoped tokens, each acting as its own agent (kind 'integration'). The token
-- is kept as its SHA-256 digest; the webhook secret is kept as is, since it signs requests.
CREATE TABLE integrations (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL,
    agent_id        INTEGER NOT NULL REFERENCES agents (id),
    scopes          TEXT    NOT NULL DEFAULT '[]',
    targets         TEXT    NOT NULL DEFAULT '[]',
    channels        TEXT    NOT NULL DEFAULT '[]',
    rate_limit      REAL    NOT NULL,
    rate_burst      REAL    NOT NULL,
    webhook_url     TEXT,
    webhook_secret  TEXT,
    prefix          TEXT    NOT NULL,
    digest          TEXT    NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    revoked_at      INTEGER
);
CREATE UNIQUE INDEX integrations_live_name ON integrations (name) WHERE revoked_at IS NULL;

-- The webhook outbox: one row per event per destination ('i:{integration id}' or
-- 't:{task id}'), each destination delivered in id order, one attempt in flight at a time.
CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    destination      TEXT    NOT NULL,
    integration_id   INTEGER REFERENCES integrations (id),
    task_id          INTEGER,
    url              TEXT    NOT NULL,
    event_seq        INTEGER NOT NULL,
    event_type       TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'pending'
                             CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    last_attempt_at  INTEGER,
    last_status      INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    delivered_at     INTEGER,
    UNIQUE (destination, event_seq)
);
CREATE INDEX webhook_deliveries_pending
    ON webhook_deliveries (destination, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_integration ON webhook_deliveries (integration_id, id);
CREATE INDEX webhook_deliveries_by_task ON webhook_deliveries (task_id, id);
CREATE INDEX webhook_deliveries_by_age ON webhook_deliveries (created_at);

-- How far the dispatcher has read the event log: the outbox holds every matching event up
-- to this seq. It starts at the current end of the log.
CREATE TABLE webhook_cursor (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL
);
INSERT INTO webhook_cursor (id, seq) VALUES (1, (SELECT coalesce(max(seq), 0) FROM events));
