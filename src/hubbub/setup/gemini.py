"""Gemini CLI: the MCP server and the hooks in ``settings.json`` (``~/.gemini`` or the
project's ``.gemini``; Gemini CLI uses a project's settings once the folder is trusted)."""

from __future__ import annotations

from typing import Any

from hubbub.setup.entries import Entry
from hubbub.setup.formats import JsonFormat
from hubbub.setup.harness import SERVER, Context, Harness, Scope, Target

HARNESS_NAME = "gemini"
HOOK_TIMEOUT_MS = 10_000
EVENTS = {
    "SessionStart": "session-start",
    "BeforeAgent": "prompt",
    "AfterAgent": "stop",
    "SessionEnd": "session-end",
}


def server(context: Context) -> dict[str, Any]:
    """The ``mcpServers.hubbub`` entry: ``hubbub mcp`` on stdio."""
    return {"command": context.command, "args": context.mcp_args()}


def hook_groups(context: Context) -> dict[str, dict[str, Any]]:
    """One definition per Gemini CLI hook event (timeouts in milliseconds)."""
    return {
        event: {
            "hooks": [
                {
                    "type": "command",
                    "name": f"hubbub-{name}",
                    "command": context.hook(name, HARNESS_NAME),
                    "timeout": HOOK_TIMEOUT_MS,
                }
            ]
        }
        for event, name in EVENTS.items()
    }


def targets(context: Context) -> list[Target]:
    """``settings.json``."""
    base = context.home if context.scope is Scope.user else context.project
    entries = [Entry(("mcpServers",), SERVER, server(context))]
    entries += [
        Entry(("hooks", event), None, group) for event, group in hook_groups(context).items()
    ]
    return [
        Target(base / ".gemini" / "settings.json", JsonFormat(), entries, "MCP server and hooks")
    ]


HARNESS = Harness(
    name=HARNESS_NAME,
    title="Gemini CLI",
    binaries=("gemini",),
    homes=(".gemini",),
    supported=((0, 61, 0), (1, 0, 0)),
    targets=targets,
    note="Gemini CLI starts a project's servers only once the folder is trusted.",
)
