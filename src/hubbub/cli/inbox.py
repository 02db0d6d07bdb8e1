"""``hubbub inbox`` and ``hubbub ack``: what is addressed to the agent, peeked at without
consuming it, then acknowledged."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from hubbub.cli.hub import AgentOption, JsonFlag, connected
from hubbub.cli.output import ago, console, emit

if TYPE_CHECKING:
    from hubbub.core.models import Board, Inbox

EVERY_ITEM = 2**63 - 1  # the largest id the store can hold: "up to" it acknowledges all


def inbox(
    wait: Annotated[
        float | None,
        typer.Option(
            help="Wait up to this many seconds for an item if there is none.",
            show_default=False,
        ),
    ] = None,
    include_acked: Annotated[
        bool, typer.Option("--all", help="Include acknowledged items.")
    ] = False,
    after: Annotated[int, typer.Option(help="Only items after this id.")] = 0,
    limit: Annotated[int, typer.Option(help="How many items (1-500).")] = 50,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Peek at the inbox: DMs, mentions, sends and broadcasts (peeking never consumes)."""
    with connected(agent) as client:
        found = client.inbox(after=after, limit=limit, include_acked=include_acked, wait=wait)

    def show(page: Inbox) -> None:
        from rich.markdown import Markdown

        for item in page.items:
            message = item.message
            state = f" [green]acked {ago(item.acked_at)}[/green]" if item.acked_at else ""
            console.print(
                f"[cyan]{item.id}[/cyan] [yellow]{item.kind}[/yellow] from "
                f"[bold]{escape(message.author)}[/bold] in #{escape(message.channel)} "
                f"[dim]#{message.id} {ago(message.created_at)}[/dim]{state}",
                highlight=False,
            )
            console.print(Markdown(message.content))
        if page.items:
            hint = f"ack with: hubbub ack --up-to {page.cursor}"
            console.print(f"[dim]{page.unacked} unacknowledged; {hint}[/dim]")
        else:
            console.print(f"[dim]Nothing new ({page.unacked} unacknowledged).[/dim]")

    emit(found, as_json, show)


def ack(
    ids: Annotated[
        list[int] | None, typer.Argument(help="Inbox item ids.", show_default=False)
    ] = None,
    up_to: Annotated[
        int | None, typer.Option(help="Every item up to this id.", show_default=False)
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Every item in the inbox.")] = False,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Acknowledge inbox items: by id, up to an id, or all of them."""
    if every:
        up_to = EVERY_ITEM
    if not ids and up_to is None:
        raise typer.BadParameter("give item ids, --up-to ID or --all")
    with connected(agent) as client:
        done = client.ack(list(ids or []), up_to=up_to)
    emit(
        done,
        as_json,
        lambda r: console.print(f"Acknowledged {r.acked}; {r.unacked} left.", highlight=False),
    )


def board(agent: AgentOption = None, as_json: JsonFlag = False) -> None:
    """What to look at, in one call: each of your channels with what is unread in it and
    who is there doing what (their status, and what they say they do in that channel), and
    how many inbox items wait."""
    with connected(agent) as client:
        found = client.board()

    def show(data: Board) -> None:
        from hubbub.cli.agents import STATUS_STYLE

        console.print(
            f"[bold]@{escape(data.me.name)}[/bold]: {data.inbox.unacked} inbox item(s) "
            "unacknowledged",
            highlight=False,
        )
        for line in data.channels:
            where = line.channel if line.kind != "channel" else f"#{line.channel}"
            unread = f"[bold]{line.unread} unread[/bold]" if line.unread else "nothing unread"
            console.print(f"{escape(where)}  {unread}", highlight=False)
            for member in line.roster:
                style = STATUS_STYLE.get(member.status, "")
                doing = member.channel_status or member.note
                said = f"  [dim]{escape(doing)}[/dim]" if doing else ""
                console.print(
                    f"    @{escape(member.name)} [{style}]{member.status}[/{style}]{said}",
                    highlight=False,
                    soft_wrap=True,
                )
            if line.roster_more:
                console.print(f"    … and {line.roster_more} more", highlight=False)

    emit(found, as_json, show)
