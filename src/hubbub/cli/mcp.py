"""``hubbub mcp``: the agent tools as an MCP server on stdin/stdout."""

from __future__ import annotations

from hubbub.cli.hub import AgentOption
from hubbub.cli.output import reporting
from hubbub.cli.tools import SurfaceChoice, SurfaceOption


def mcp(surface: SurfaceOption = SurfaceChoice.compact, agent: AgentOption = None) -> None:
    """Serve the agent tools over MCP on stdin/stdout, for an MCP client to spawn
    ('claude mcp add hubbub -- hubbub mcp'). New inbox items are pushed to Claude Code as
    channel events. Logs go to stderr."""
    with reporting():
        from hubbub.mcp.identity import resolve
        from hubbub.tools.registry import wait_setting

        settings, max_wait = resolve(agent), wait_setting()
        # Imported here: the MCP SDK takes a while to load, and only this command needs it.
        from hubbub.mcp.stdio import main

        main(surface.value, settings, max_wait)
