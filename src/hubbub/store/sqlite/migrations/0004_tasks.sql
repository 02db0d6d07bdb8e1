-- Tasks: work handed to an agent, a capability, a tag or a channel, claimed under a lease.
CREATE TABLE tasks (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    title             TEXT    NOT NULL,
    body              TEXT    NOT NULL DEFAULT '',
    -- '@agent', 'cap:x', 'tag:x' or '#channel', as shown; claim-next matches on it.
    target            TEXT    NOT NULL,
    -- Where the task lives: the '#channel', or the DM of creator and '@agent'; NULL for
    -- cap:/tag: targets, which every agent may see.
    channel_id        INTEGER REFERENCES channels (id),
    priority          INTEGER NOT NULL DEFAULT 0,
    labels            TEXT    NOT NULL DEFAULT '[]',
    status            TEXT    NOT NULL DEFAULT 'open'
                              CHECK (status IN ('open', 'claimed', 'done', 'failed', 'cancelled')),
    created_by        INTEGER NOT NULL REFERENCES agents (id),
    holder_id         INTEGER REFERENCES agents (id),
    fence             INTEGER NOT NULL DEFAULT 0,
    -- The agent the current fence was given to, kept after its lease ends, and whether that
    -- lease ran out: so its late updates are told 'lease_expired', not 'not_holder'.
    fence_holder_id   INTEGER REFERENCES agents (id),
    lease_lost        INTEGER NOT NULL DEFAULT 0,
    lease_seconds     REAL    NOT NULL,
    -- The lease of the current claim (a claim may ask for another than the task's).
    claim_lease_seconds REAL,
    lease_expires_at  INTEGER,
    attempts          INTEGER NOT NULL DEFAULT 0,
    max_attempts      INTEGER NOT NULL,
    progress          INTEGER,
    progress_note     TEXT,
    result            TEXT,
    result_text       TEXT,
    dedupe_key        TEXT,
    occurrences       INTEGER NOT NULL DEFAULT 1,
    last_seen_at      INTEGER NOT NULL,
    due_at            INTEGER,
    callback_url      TEXT,
    callback_secret   TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
-- Claim-next: per target, the open tasks in claim order (one ordered seek per target).
CREATE INDEX tasks_claimable ON tasks (target, priority DESC, id) WHERE status = 'open';
-- The lease sweep and the next expiry (claimed tasks by lease end).
CREATE INDEX tasks_leases ON tasks (status, lease_expires_at);
-- At most one active task per creator and dedupe key.
CREATE UNIQUE INDEX tasks_active_dedupe ON tasks (created_by, dedupe_key)
    WHERE dedupe_key IS NOT NULL AND status IN ('open', 'claimed');
CREATE INDEX tasks_by_status ON tasks (status, id);
CREATE INDEX tasks_by_creator ON tasks (created_by, id);
CREATE INDEX tasks_by_holder ON tasks (holder_id, id) WHERE holder_id IS NOT NULL;
CREATE INDEX tasks_by_channel ON tasks (channel_id, id) WHERE channel_id IS NOT NULL;

-- Idempotency keys of task creations: the same key from the same agent finds the same task,
-- whether that request created it or was folded into it by its dedupe key.
CREATE TABLE task_keys (
    agent_id     INTEGER NOT NULL REFERENCES agents (id),
    key          TEXT    NOT NULL,
    task_id      INTEGER NOT NULL REFERENCES tasks (id),
    fingerprint  TEXT    NOT NULL,
    PRIMARY KEY (agent_id, key)
) WITHOUT ROWID;

-- A task's history: its events, found by the task id in their payload.
CREATE INDEX events_by_task ON events (json_extract(payload, '$.task.id'), seq)
    WHERE type GLOB 'task.*';
