"""``hubbub search``: full-text search over what the agent may read."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from hubbub.cli.hub import AgentOption, JsonFlag, connected
from hubbub.cli.output import ago, console, emit

if TYPE_CHECKING:
    from hubbub.core.models import SearchResult

RELATIVE = re.compile(r"(\d+)([mhdw])")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def moment(text: str) -> datetime:
    """An ISO date or time (local time if it names no zone), or an age such as ``30m``,
    ``2h``, ``7d`` or ``1w`` before now."""
    found = RELATIVE.fullmatch(text.strip())
    if found:
        return datetime.now().astimezone() - timedelta(**{UNITS[found[2]]: int(found[1])})
    try:
        return datetime.fromisoformat(text).astimezone()
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is neither an ISO date/time nor an age like 30m, 2h, 7d"
        ) from None


WhenOption = Annotated[
    datetime | None,
    typer.Option(
        parser=moment,
        metavar="WHEN",
        help="ISO date/time, or an age: 30m, 2h, 7d, 1w.",
        show_default=False,
    ),
]


def search(
    query: Annotated[str, typer.Argument(help='Words to match; "a phrase" and prefix* work.')],
    channel: Annotated[
        str | None, typer.Option(help="Only this channel (or @agent DM).", show_default=False)
    ] = None,
    author: Annotated[
        str | None, typer.Option(help="Only messages by this agent.", show_default=False)
    ] = None,
    since: WhenOption = None,
    until: WhenOption = None,
    limit: Annotated[int, typer.Option(help="How many hits (1-100).")] = 20,
    kind: Annotated[
        str | None, typer.Option(help="Only messages of this kind.", show_default=False)
    ] = None,
    project: Annotated[
        str | None,
        typer.Option(help="Only messages in the channels of this project.", show_default=False),
    ] = None,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Search the messages the agent may read, best match first."""
    with connected(agent) as client:
        found = client.search(
            query,
            channel=channel,
            author=author,
            since=since,
            until=until,
            limit=limit,
            kind=kind,
            project=project,
        )

    def show(result: SearchResult) -> None:
        from rich.markdown import Markdown

        if not result.hits:
            console.print(f"[dim]Nothing matches {escape(result.query)}.[/dim]")
        for hit in result.hits:
            message = hit.message
            console.print(
                f"[dim]#{message.id}[/dim] [bold]{escape(message.author)}[/bold] in "
                f"#{escape(message.channel)} [dim]{ago(message.created_at)}[/dim]",
                highlight=False,
            )
            console.print(Markdown(hit.snippet))  # the matches come **bold**

    emit(found, as_json, show)
