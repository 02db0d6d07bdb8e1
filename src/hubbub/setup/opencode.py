"""OpenCode: the MCP server in ``opencode.json`` (the project's, or
``~/.config/opencode/opencode.json``; ``opencode.jsonc`` when that is the file in use, as long
as it has no comments). OpenCode 1.x lists servers under ``mcp`` with ``enabled``; the newer
shape lists them under ``mcp.servers``. Setup follows the file's shape, else the version.
OpenCode has no command hooks: news reaches it in the hubbub tools' results."""

from __future__ import annotations

import json
import os
from pathlib import Path

from hubbub.core.errors import InvalidInput
from hubbub.setup.entries import Entry
from hubbub.setup.formats import JsonFormat
from hubbub.setup.harness import SERVER, Context, Harness, Scope, Target

HARNESS_NAME = "opencode"


def config_file(context: Context) -> Path:
    """The config file in use: ``opencode.jsonc`` if there is one, else ``opencode.json``."""
    if context.scope is Scope.project:
        base = context.project
    else:
        xdg = os.environ.get("XDG_CONFIG_HOME")
        base = (Path(xdg) if xdg else context.home / ".config") / "opencode"
    commented = base / "opencode.jsonc"
    return commented if commented.exists() else base / "opencode.json"


def servers_shape(path: Path, context: Context) -> bool:
    """Whether servers go under ``mcp.servers`` (the newer shape) rather than ``mcp``."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = None
    mcp = data.get("mcp") if isinstance(data, dict) else None
    if isinstance(mcp, dict) and mcp:
        nested = isinstance(mcp.get("servers"), dict)
        if nested and len(mcp) > 1:
            raise InvalidInput(
                f"{path}: its mcp section mixes servers under 'mcp' and under 'mcp.servers', "
                "a shape setup does not know; nothing was written",
                code="setup_unknown_shape",
            )
        return nested
    return context.version is not None and context.version.parts[0] >= 2


def targets(context: Context) -> list[Target]:
    """``opencode.json``."""
    path = config_file(context)
    command = [context.command, *context.mcp_args()]
    if servers_shape(path, context):
        entry = Entry(("mcp", "servers"), SERVER, {"type": "local", "command": command})
    else:
        entry = Entry(("mcp",), SERVER, {"type": "local", "command": command, "enabled": True})
    return [Target(path, JsonFormat(), [entry], "MCP server")]


HARNESS = Harness(
    name=HARNESS_NAME,
    title="OpenCode",
    binaries=("opencode",),
    homes=(".config/opencode",),
    supported=((1, 0, 0), (3, 0, 0)),
    targets=targets,
    note="OpenCode has no command hooks: news arrives in the hubbub tools' results.",
)
