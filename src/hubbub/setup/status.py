"""``hubbub setup status``: per harness and scope, what is configured, for which agent, and
whether the hub answers."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from hubbub.config import load
from hubbub.core.errors import HubbubError
from hubbub.setup.changes import read
from hubbub.setup.detect import detect
from hubbub.setup.formats import JsonFormat, TomlFormat
from hubbub.setup.harness import SERVER, Context, Scope, Target
from hubbub.setup.harnesses import HARNESSES
from hubbub.setup.install import Echo, hubbub_command, project_root

HEALTH_TIMEOUT = 3.0


def hub_answers(url: str | None) -> str:
    """``answers`` or why not."""
    if not url:
        return "no hub URL configured (run hubbub serve or hubbub login)"
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/api/v1/health", timeout=HEALTH_TIMEOUT):
            return "answers"
    except (urllib.error.URLError, OSError, ValueError) as error:
        return f"does not answer ({getattr(error, 'reason', error)})"


def _agent_of(value: Any) -> str:
    """The agent a server entry names with ``--agent``, or how it is chosen."""
    args = value.get("args") if isinstance(value, dict) else None
    if isinstance(value, dict) and args is None:
        args = value.get("command")
    if isinstance(args, list) and "--agent" in args[:-1]:
        return str(args[args.index("--agent") + 1])
    return "{machine}-{directory}"


def _server_agent(target: Target, text: str) -> str | None:
    """The agent of the hubbub server entry in ``text``, if it has one."""
    for entry in target.entries:
        if entry.key != SERVER:
            continue
        if not isinstance(target.format, JsonFormat | TomlFormat):
            return None
        try:
            document: Any = target.format.parse(text)
        except HubbubError:
            return None
        for name in entry.path:
            document = document.get(name) if isinstance(document, dict) else None
        if isinstance(document, dict) and SERVER in document:
            return _agent_of(document[SERVER])
    return None


def describe(target: Target) -> str:
    """One target's state."""
    try:
        text = read(target.path)
    except HubbubError as error:
        return f"unreadable: {error.detail}"
    if text is None:
        return "not configured"
    try:
        present = sum(target.format.has(text, entry) for entry in target.entries)
    except HubbubError as error:
        return f"unreadable: {error.detail}"
    agent = _server_agent(target, text)
    where = f", as {agent}" if agent else ""
    if present == len(target.entries):
        return f"configured{where}"
    if present == 0 and agent is None:
        return "not configured"
    return f"{present} of {len(target.entries)} entries as setup writes them{where}"


def status(echo: Echo, *, home: Path | None = None, cwd: Path | None = None) -> None:
    """Print the status."""
    base = home or Path.home()
    project = project_root(cwd or Path.cwd())
    url = load().url
    echo(f"hub {url or '(none configured)'}: {hub_answers(url)}")
    for harness in HARNESSES.values():
        found = detect(harness, base)
        echo(f"{harness.title}: {found.describe()}")
        for scope in Scope:
            where = Context(scope, base, project, hubbub_command(), version=found.version)
            try:
                targets = harness.targets(where)
            except HubbubError as error:
                echo(f"  {scope.value}: {error.detail}")
                continue
            for target in targets:
                state = describe(target)
                if state != "not configured" or target.what.startswith(("MCP", "hooks")):
                    echo(f"  {scope.value:7} {target.what}: {state} ({target.path})")
