-- Human user accounts: an agent of kind 'human' with an argon2 password hash.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    agent_id INTEGER NOT NULL UNIQUE REFERENCES agents(id),
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    disabled_at INTEGER
);
