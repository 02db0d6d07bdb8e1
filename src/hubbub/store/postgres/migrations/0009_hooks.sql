-- What each hook or tool session acting as an agent has been told of the agent's inbox: every
-- item up to shown_upto. A session is named by its surface (a harness such as claude or
-- codex, or the MCP and tool surfaces) and the id that surface gives it. Rows unused for a
-- day are forgotten by the maintenance round.
CREATE TABLE notice_sessions (
    agent_id    bigint NOT NULL REFERENCES agents (id),
    surface     text   NOT NULL,
    session     text   NOT NULL,
    shown_upto  bigint NOT NULL,
    used_at     bigint NOT NULL,
    PRIMARY KEY (agent_id, surface, session)
);
CREATE INDEX notice_sessions_by_use ON notice_sessions (used_at);
