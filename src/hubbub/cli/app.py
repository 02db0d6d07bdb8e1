"""The ``hubbub`` command line: each command is a thin adapter over the SDK client.

The command table below is all this module holds, so that starting the command costs only
what the command run needs: ``hubbub hook`` runs on the standard library alone, before the
command-line framework is imported, and every other command's module is imported only when
that command runs (``hubbub.cli.root`` builds the group from the table).
"""

from __future__ import annotations

import gc
import sys
from types import ModuleType

# Every command: its name, and the function (a command) or ``typer.Typer`` (a group of
# commands) that implements it, as "module:attribute". Help lists them in this order.
COMMANDS: dict[str, str] = {
    "serve": "hubbub.cli.serve:serve",
    "login": "hubbub.cli.session:login",
    "whoami": "hubbub.cli.session:whoami",
    "post": "hubbub.cli.messages:post",
    "send": "hubbub.cli.messages:send",
    "read": "hubbub.cli.messages:read",
    "seen": "hubbub.cli.messages:seen",
    "tail": "hubbub.cli.live:tail",
    "search": "hubbub.cli.search:search",
    "inbox": "hubbub.cli.inbox:inbox",
    "ack": "hubbub.cli.inbox:ack",
    "board": "hubbub.cli.inbox:board",
    "agents": "hubbub.cli.agents:agents",
    "status": "hubbub.cli.agents:status",
    "profile": "hubbub.cli.agents:profile",
    "mcp": "hubbub.cli.mcp:mcp",
    "hook": "hubbub.cli.hooks:hook",
    "migrate": "hubbub.cli.moves:migrate",
    "export": "hubbub.cli.moves:export",
    "import": "hubbub.cli.moves:load",
    "backup": "hubbub.cli.moves:backup",
    "prune": "hubbub.cli.retention:prune",
    "channels": "hubbub.cli.channels:app",
    "projects": "hubbub.cli.channels:projects",
    "tasks": "hubbub.cli.tasks:app",
    "pair": "hubbub.cli.pairs:app",
    "files": "hubbub.cli.files:app",
    "keys": "hubbub.cli.keys:app",
    "users": "hubbub.cli.users:app",
    "dashboard": "hubbub.cli.dashboard:dashboard",
    "integrations": "hubbub.cli.integrations:app",
    "a2a": "hubbub.cli.a2a:app",
    "config": "hubbub.cli.session:app",
    "tools": "hubbub.cli.tools:app",
    "setup": "hubbub.cli.setup:app",
    "agent": "hubbub.cli.agent:app",
    "service": "hubbub.cli.service:app",
}

HELP_FLAGS = frozenset({"--help"})


def main() -> None:
    """Entry point of the ``hubbub`` script."""
    args = sys.argv[1:]
    if args[:1] == ["hook"] and not HELP_FLAGS.intersection(args[1:]):
        from hubbub.hooks.command import main as hook

        raise SystemExit(hook(args[1:]))
    # httpx imports its own command line (click, rich's syntax highlighting, pygments) when
    # they are installed, a large share of a command's start; no hubbub command uses it, so
    # an empty module stands in for it and httpx defines its fallback instead.
    sys.modules.setdefault("httpx._main", ModuleType("httpx._main"))
    # Loading the framework, the SDK and the models builds a great many objects and frees
    # almost none, so the cycle collector's passes over them are wasted: about a fifth of a
    # command's start. The root callback turns it back on once the command is loaded.
    gc.disable()
    from hubbub.cli.root import app

    app()
