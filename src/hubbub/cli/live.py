"""``hubbub tail``: the latest messages of some channels, then, with ``-f``, new ones as they
are posted, through the SDK's resuming event stream (a hub restart loses and repeats
nothing)."""

from __future__ import annotations

from contextlib import closing
from typing import TYPE_CHECKING, Annotated

import typer

from hubbub.cli.hub import AgentOption, connected
from hubbub.cli.messages import show_message
from hubbub.cli.output import json_text

if TYPE_CHECKING:
    from collections.abc import Iterator

    from hubbub.client import Client
    from hubbub.core.models import Event, Message

POSTED = "message.posted"
# A cursor past any log: the hub answers it with a gap notice carrying the log's newest event,
# which is where following starts (before the latest messages are read, so that none posted
# in between is missed).
BEYOND_THE_LOG = 2**62


def tail(
    channels: Annotated[
        list[str] | None,
        typer.Argument(
            help="Channels (or @agent DMs); default: every channel and DM the agent is in.",
            show_default=False,
        ),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new messages until Ctrl-C.")
    ] = False,
    limit: Annotated[
        int, typer.Option("--lines", "-n", help="How many of the latest messages to print first.")
    ] = 10,
    agent: AgentOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON, one message per line.")
    ] = False,
) -> None:
    """Print the latest messages of some channels; with -f, follow new ones live."""

    def show(message: Message) -> None:
        if as_json:
            typer.echo(json_text(message, indent=None))
        else:
            show_message(message, where=True)

    with connected(agent) as client:
        if not follow:
            for message in _latest(client, channels, limit):
                show(message)
            return
        client.whoami()  # fails at once on a bad key or an unreachable hub, where a stream retries
        stream = client.events(after=BEYOND_THE_LOG, channels=channels or None, types=[POSTED])
        with closing(stream):
            first = next(stream)  # the gap notice, unless a hub of the future sends none
            latest = _latest(client, channels, limit)
            for message in latest:
                show(message)
            shown = {message.id for message in latest}
            try:
                for event in _chain([first], stream):
                    posted = _posted(event)
                    if posted is not None and posted.id not in shown:
                        show(posted)
            except KeyboardInterrupt:  # the way to stop following: not an error
                return


def _latest(client: Client, channels: list[str] | None, limit: int) -> list[Message]:
    """The newest ``limit`` messages across the channels, oldest first."""
    if not limit:
        return []
    names = channels or [summary.channel for summary in client.board().channels]
    found = [m for name in names for m in client.read(name, limit=limit).messages]
    return sorted(found, key=lambda m: m.id)[-limit:]


def _chain(first: list[Event], rest: Iterator[Event]) -> Iterator[Event]:
    yield from first
    yield from rest


def _posted(event: Event) -> Message | None:
    from hubbub.core.models import Message

    if event.type != POSTED:
        return None
    return Message.model_validate(event.data["message"])
