"""Cursor: the MCP server in ``mcp.json`` and the hooks in ``hooks.json`` (``~/.cursor`` or
the project's ``.cursor``). Cursor has no command line to ask for its version."""

from __future__ import annotations

from typing import Any

from hubbub.setup.entries import Entry
from hubbub.setup.formats import JsonFormat
from hubbub.setup.harness import SERVER, Context, Harness, Scope, Target

HARNESS_NAME = "cursor"
HOOKS_VERSION = 1
EVENTS = {
    "sessionStart": "session-start",
    "beforeSubmitPrompt": "prompt",
    "stop": "stop",
    "sessionEnd": "session-end",
}


def server(context: Context) -> dict[str, Any]:
    """The ``mcpServers.hubbub`` entry: ``hubbub mcp`` on stdio."""
    return {"type": "stdio", "command": context.command, "args": context.mcp_args()}


def hook(context: Context, name: str) -> dict[str, Any]:
    """One Cursor hook: a command (the stop hook keeps the agent going at most once)."""
    found: dict[str, Any] = {"command": context.hook(name, HARNESS_NAME)}
    if name == "stop":
        found["loop_limit"] = 1
    return found


def targets(context: Context) -> list[Target]:
    """``mcp.json`` and ``hooks.json``."""
    base = (context.home if context.scope is Scope.user else context.project) / ".cursor"
    hooks = [Entry((), "version", HOOKS_VERSION, anchor=True)]
    hooks += [Entry(("hooks", event), None, hook(context, name)) for event, name in EVENTS.items()]
    return [
        Target(
            base / "mcp.json",
            JsonFormat(),
            [Entry(("mcpServers",), SERVER, server(context))],
            "MCP server",
        ),
        Target(base / "hooks.json", JsonFormat(), hooks, "hooks"),
    ]


HARNESS = Harness(
    name=HARNESS_NAME,
    title="Cursor",
    binaries=("cursor-agent", "cursor"),
    homes=(".cursor",),
    supported=None,
    targets=targets,
    note="Enable the server in Cursor under Customize > MCPs.",
)
