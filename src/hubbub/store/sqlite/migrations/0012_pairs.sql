-- Pair sessions: an exclusive live chat between two agents, from invite to hang-up, held in
-- a channel of kind 'pair' of its own (named 'pair:{id}').

-- Channels take the kind 'pair'. SQLite cannot alter a CHECK constraint, and rebuilding the
-- table would mean rebuilding every table that refers to it (foreign keys are enforced within
-- this transaction), so the constraint's text is widened in place: the schema edit SQLite
-- documents for loosening a constraint, which every stored row still satisfies. RESET
-- reloads the schema on this connection; the CREATE TABLE below moves the schema version, so
-- every other connection reloads it too.
PRAGMA writable_schema = ON;
UPDATE sqlite_master
   SET sql = replace(sql, 'CHECK (kind IN (''channel'', ''dm''))',
                     'CHECK (kind IN (''channel'', ''dm'', ''pair''))')
 WHERE type = 'table' AND name = 'channels';
PRAGMA writable_schema = RESET;

-- One row per invite. 'pending' until the invitee accepts ('active') or rejects
-- ('rejected'), the inviter cancels or the invite lapses at expires_at ('ended'); an active
-- pair ends when either agent hangs up. A pending row past expires_at counts as ended
-- wherever it is read; the hub's sweep records it so later.
CREATE TABLE pairs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Set in the invite's own transaction, once the channel named after the id exists.
    channel_id   INTEGER UNIQUE REFERENCES channels (id),
    inviter_id   INTEGER NOT NULL REFERENCES agents (id),
    invitee_id   INTEGER NOT NULL REFERENCES agents (id),
    topic        TEXT,
    state        TEXT    NOT NULL DEFAULT 'pending'
                         CHECK (state IN ('pending', 'active', 'rejected', 'ended')),
    end_reason   TEXT    CHECK (end_reason IN ('rejected', 'cancelled', 'hung_up', 'expired')),
    ended_by     INTEGER REFERENCES agents (id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    accepted_at  INTEGER,
    ended_at     INTEGER
);
-- An agent's open pairs (the busy check) and its pairs newest first (listings).
CREATE INDEX pairs_open_by_inviter ON pairs (inviter_id) WHERE state IN ('pending', 'active');
CREATE INDEX pairs_open_by_invitee ON pairs (invitee_id) WHERE state IN ('pending', 'active');
CREATE INDEX pairs_by_inviter ON pairs (inviter_id, id);
CREATE INDEX pairs_by_invitee ON pairs (invitee_id, id);
CREATE INDEX pairs_pending_by_expiry ON pairs (expires_at) WHERE state = 'pending';
