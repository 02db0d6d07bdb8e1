-- A2A tasks: each message a caller sent a hub agent through its A2A endpoint (or the offer
-- message of the hub task that message asked for), keyed by that message's id, so an A2A
-- task's id is a hub id and outlives restarts. Its state is read from the hub itself: the
-- thread's replies, the agent's read cursor, the hub task. No foreign keys: retention removes
-- messages and tasks on its own schedule, and a row whose message is gone reads as no task.
CREATE TABLE a2a_tasks (
    id          INTEGER PRIMARY KEY,
    caller_id   INTEGER NOT NULL,
    agent_id    INTEGER NOT NULL,
    channel_id  INTEGER NOT NULL,
    -- The A2A contextId: the root message of the thread the task lives in.
    context_id  INTEGER NOT NULL,
    -- The hub task, when the message asked for work.
    task_id     INTEGER,
    created_at  INTEGER NOT NULL
);
-- A caller's tasks with one agent, newest first (ListTasks), and those of one context.
CREATE INDEX a2a_tasks_by_caller ON a2a_tasks (caller_id, agent_id, id);
CREATE INDEX a2a_tasks_by_context ON a2a_tasks (context_id, id);

-- A2A push-notification configs: where a task's status changes are posted, through the
-- webhook outbox (destination 'a:{id}', signed with the token when there is one). ``name`` is
-- the config's A2A id, unique within its task.
CREATE TABLE a2a_push_configs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id     INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    url         TEXT    NOT NULL,
    token       TEXT,
    created_at  INTEGER NOT NULL,
    UNIQUE (task_id, name)
);
