"""The dashboard: server-rendered pages for humans, signed in with a session cookie."""
