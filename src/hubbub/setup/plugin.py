"""The Claude Code plugin (``plugins/hubbub``) and its marketplace manifest, generated from the
same functions as what ``hubbub setup claude`` writes, so the two cannot drift apart.

``python -m hubbub.setup.plugin [REPOSITORY]`` rewrites them; a test fails when they are stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from hubbub import __version__
from hubbub.setup import claude
from hubbub.setup.harness import SERVER, Context, Scope

PLUGIN = "hubbub"
MARKETPLACE = "hubbub"
PLUGIN_DIR = Path("plugins") / PLUGIN
DESCRIPTION = (
    "Hubbub, the message hub for agents: its MCP server, hooks that bring DMs, mentions and "
    "task offers into the session, slash commands and channel push."
)


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def plugin_context() -> Context:
    """The plugin starts ``hubbub`` from ``PATH`` and names no agent (each project's own)."""
    here = Path(".")
    return Context(Scope.user, here, here, "hubbub")


def files() -> dict[Path, str]:
    """Every generated file, by its path in the repository."""
    context = plugin_context()
    server = claude.server(context)
    manifest = {
        "name": PLUGIN,
        "version": __version__,
        "description": DESCRIPTION,
        "author": {"name": "Hubbub"},
        "license": "MIT",
        "keywords": ["agents", "messaging", "mcp", "hub"],
        "channels": [{"server": SERVER, "displayName": "Hubbub"}],
    }
    found = {
        PLUGIN_DIR / ".claude-plugin" / "plugin.json": _json(manifest),
        PLUGIN_DIR / ".mcp.json": _json({"mcpServers": {SERVER: server}}),
        PLUGIN_DIR / "hooks" / "hooks.json": _json(
            {
                "description": "Hubbub: news for the session from the hub, and its presence.",
                "hooks": claude.hooks_document(context),
            }
        ),
    }
    for name in claude.COMMANDS:
        found[PLUGIN_DIR / "commands" / f"{name}.md"] = claude.command_text(name)
    found[Path(".claude-plugin") / "marketplace.json"] = _json(
        {
            "name": MARKETPLACE,
            "owner": {"name": "Hubbub"},
            "description": "The Hubbub plugin for Claude Code.",
            "plugins": [
                {
                    "name": PLUGIN,
                    "source": f"./{PLUGIN_DIR.as_posix()}",
                    "description": DESCRIPTION,
                    "version": __version__,
                }
            ],
        }
    )
    return found


def write(root: Path) -> list[Path]:
    """Write the generated files under ``root``; the ones that changed."""
    changed = []
    for relative, text in files().items():
        path = root / relative
        if path.exists() and path.read_text() == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        changed.append(path)
    return changed


if __name__ == "__main__":
    for written in write(Path(sys.argv[1] if len(sys.argv) > 1 else ".")):
        print(f"wrote {written}")
