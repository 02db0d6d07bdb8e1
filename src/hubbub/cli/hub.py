"""Reaching the hub from a command: the SDK client, opened inside error reporting, and the
options every command that talks to the hub shares."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from hubbub.cli.output import reporting

if TYPE_CHECKING:
    from hubbub.client import Client

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
AgentOption = Annotated[
    str | None,
    typer.Option("--agent", help="Act as this agent ({machine}-{project}).", show_default=False),
]


@contextmanager
def connected(
    agent: str | None = None, *, url: str | None = None, key: str | None = None
) -> Iterator[Client]:
    """A client for the configured hub; an expected error inside ends the command with its
    exit code and one line on stderr."""
    with reporting():
        # Imported here, not at the top: 'hubbub serve' and '--help' start faster without httpx.
        from hubbub.client import Client

        with Client(url=url, key=key, agent=agent) as client:
            yield client
