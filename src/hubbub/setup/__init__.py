"""``hubbub setup``: wiring coding agents (Claude Code, Codex, Gemini CLI, OpenCode, Cursor) to
the hub. One module per harness says which files it gets; the shared core plans the changes as
data, shows them, writes them atomically and records exactly what it added, so removal takes
out just that."""
