"""Codex CLI: the MCP server and ``notify`` in ``config.toml``, the hooks in ``hooks.json``
(both in ``$CODEX_HOME``, default ``~/.codex``, or the project's ``.codex``).

Codex 0.171 has hooks on by default (the ``hooks`` feature is stable) and runs a new hook only
once the user has trusted it (``/hooks`` in the TUI). ``notify`` is one command for the whole
config, so an existing one is left in place.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hubbub.setup.entries import Entry
from hubbub.setup.formats import JsonFormat, TomlFormat
from hubbub.setup.harness import SERVER, Context, Harness, Scope, Target

HARNESS_NAME = "codex"
HOOK_TIMEOUT = 10
END_TIMEOUT = 3  # Codex clamps a SessionEnd hook's timeout to 3 s
EVENTS = {
    "SessionStart": "session-start",
    "UserPromptSubmit": "prompt",
    "Stop": "stop",
    "SessionEnd": "session-end",
}


def home(context: Context) -> Path:
    """Codex's directory for this scope."""
    if context.scope is Scope.project:
        return context.project / ".codex"
    configured = os.environ.get("CODEX_HOME")
    return Path(configured) if configured else context.home / ".codex"


def server(context: Context) -> dict[str, Any]:
    """The ``[mcp_servers.hubbub]`` table."""
    return {"command": context.command, "args": context.mcp_args()}


def hook_groups(context: Context) -> dict[str, dict[str, Any]]:
    """One matcher group per event."""
    groups: dict[str, dict[str, Any]] = {}
    for event, name in EVENTS.items():
        timeout = END_TIMEOUT if name == "session-end" else HOOK_TIMEOUT
        handler = {
            "type": "command",
            "command": context.hook(name, HARNESS_NAME),
            "timeout": timeout,
        }
        group: dict[str, Any] = {"hooks": [handler]}
        if event == "SessionStart":
            group = {"matcher": "startup|resume", **group}
        groups[event] = group
    return groups


def targets(context: Context) -> list[Target]:
    """``config.toml`` and ``hooks.json``."""
    base = home(context)
    notify = context.argv("hook", "notify", "--harness", HARNESS_NAME)
    config = [Entry(("mcp_servers",), SERVER, server(context)), Entry((), "notify", notify)]
    hooks = [Entry(("hooks", event), None, group) for event, group in hook_groups(context).items()]
    return [
        Target(base / "config.toml", TomlFormat(), config, "MCP server and notify"),
        Target(base / "hooks.json", JsonFormat(), hooks, "hooks"),
    ]


HARNESS = Harness(
    name=HARNESS_NAME,
    title="Codex CLI",
    binaries=("codex",),
    homes=(".codex",),
    supported=((0, 171, 0), (1, 0, 0)),
    targets=targets,
    note="Codex runs new hooks once you trust them: review them with /hooks in Codex.",
)
