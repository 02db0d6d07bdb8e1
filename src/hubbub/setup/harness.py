"""What every harness module shares: the scope, the context of a run, the files a harness
gets, and how a hook or the MCP server is started."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from hubbub.setup.entries import Entry
from hubbub.setup.formats import Format

SERVER = "hubbub"
"""The MCP server's name in every harness (so its tools are ``mcp__hubbub__…`` in Claude Code)."""


class Scope(StrEnum):
    """Where the files go: the user's home (every project) or the project itself."""

    user = "user"
    project = "project"


@dataclass(frozen=True, slots=True)
class Version:
    """A harness's version, as its ``--version`` prints it."""

    parts: tuple[int, int, int]
    text: str

    def __str__(self) -> str:
        return ".".join(map(str, self.parts))


@dataclass(frozen=True, slots=True)
class Context:
    """One setup run: where, as whom, and how to start ``hubbub``."""

    scope: Scope
    home: Path
    project: Path
    command: str
    agent: str | None = None
    hub_url: str | None = None
    http_hooks: bool = False
    version: Version | None = None

    @property
    def base(self) -> Path:
        """The home directory or the project, by scope."""
        return self.home if self.scope is Scope.user else self.project

    def argv(self, *args: str) -> list[str]:
        """``hubbub ARGS…`` as an argument vector, with ``--agent`` when one was given."""
        agent = ["--agent", self.agent] if self.agent else []
        return [self.command, *args, *agent]

    def mcp_args(self) -> list[str]:
        """The MCP server's arguments (after the command)."""
        return self.argv("mcp")[1:]

    def hook(self, event: str, harness: str, *extra: str) -> str:
        """The shell command of a command hook."""
        return shlex.join(self.argv("hook", event, "--harness", harness, *extra))


@dataclass(frozen=True, slots=True)
class Target:
    """One file a harness gets and what setup adds to it."""

    path: Path
    format: Format
    entries: list[Entry]
    what: str


@dataclass(frozen=True, slots=True)
class Harness:
    """A coding agent setup knows: how to find it and which files it gets."""

    name: str
    title: str
    binaries: tuple[str, ...]
    homes: tuple[str, ...]
    supported: tuple[tuple[int, int, int], tuple[int, int, int]] | None
    targets: Callable[[Context], list[Target]]
    note: str = ""
