-- The dashboard: admin humans, the hub secret, web sessions and one-time login links.
-- A user is an admin from admin_at on; NULL: not an admin.
ALTER TABLE users ADD COLUMN admin_at INTEGER;

-- The hub secret: one row, made on the first start, replaced when rotated. It signs session
-- cookies, CSRF tokens and login links, so every hub process on one database shares it.
CREATE TABLE hub_secret (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    secret TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- A signed-in browser: the cookie names the session by a token kept here as its SHA-256.
CREATE TABLE web_sessions (
    id INTEGER PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users(id),
    csrf TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);

-- A one-time login link, kept as the SHA-256 of its token: usable once, before expires_at.
CREATE TABLE login_links (
    id INTEGER PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX login_links_expiry ON login_links (expires_at);
