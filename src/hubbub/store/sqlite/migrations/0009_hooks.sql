-- What each hook or tool session acting as an agent has been told of the agent's inbox: every
-- item up to shown_upto. A session is named by its surface (a harness such as claude or
-- codex, or the MCP and tool surfaces) and the id that surface gives it. Rows unused for a
-- day are forgotten by the maintenance round.
CREATE TABLE notice_sessions (
    agent_id    INTEGER NOT NULL REFERENCES agents (id),
    surface     TEXT    NOT NULL,
    session     TEXT    NOT NULL,
    shown_upto  INTEGER NOT NULL,
    used_at     INTEGER NOT NULL,
    PRIMARY KEY (agent_id, surface, session)
) WITHOUT ROWID;
CREATE INDEX notice_sessions_by_use ON notice_sessions (used_at);
