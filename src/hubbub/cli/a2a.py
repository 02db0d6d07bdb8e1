"""``hubbub a2a``: register, list, show and remove remote A2A agents, and see what was
forwarded to them (needs the admin key)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from hubbub.cli.hub import JsonFlag, connected
from hubbub.cli.output import ago, console, emit

if TYPE_CHECKING:
    from hubbub.core.models import A2ARemote

app = typer.Typer(
    help="Remote A2A agents: agents elsewhere, reached over the A2A protocol, as members of the "
    "hub (needs the admin key and the hub's hubbub[a2a] extra).",
    no_args_is_help=True,
)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Its name in the hub (an agent of kind a2a).")],
    url: Annotated[
        str, typer.Argument(help="The base URL of its Agent Card (or the card's own URL).")
    ],
    token: Annotated[
        str | None, typer.Option(help="Sent to it as a bearer token with every request.")
    ] = None,
    label: Annotated[
        str | None, typer.Option(help="Its label in the hub (default: its card's name).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Fetch a remote agent's Agent Card and register it: DMs, mentions and task offers to it
    are then forwarded, and its answers come back into the thread."""
    with connected() as client:
        made = client.add_a2a_remote(name, url, token=token, label=label)

    def show(data: A2ARemote) -> None:
        from rich.text import Text

        console.print(Text(f"Remote A2A agent {data.name} registered ({data.url})."))
        if data.capabilities:
            console.print(Text("capabilities: " + " ".join(data.capabilities)))

    emit(made, as_json, show)


@app.command("ls")
def list_remotes(as_json: JsonFlag = False) -> None:
    """List remote A2A agents, with how many items wait or failed (never their tokens)."""
    with connected() as client:
        found = client.a2a_remotes()

    def show(rows: list[A2ARemote]) -> None:
        from rich.table import Table
        from rich.text import Text

        table = Table("name", "url", "label", "capabilities", "pending", "failed", "added")
        for row in rows:
            table.add_row(
                Text(row.name),
                Text(row.url),
                Text(row.label or ""),
                Text(" ".join(row.capabilities)),
                str(row.pending),
                str(row.failed),
                ago(row.created_at),
            )
        console.print(table)

    emit(found, as_json, show)


@app.command("show")
def show_remote(
    name: Annotated[str, typer.Argument(help="Name from 'hubbub a2a ls'.")],
    status: Annotated[str | None, typer.Option(help="Only pending, sent or failed items.")] = None,
    limit: Annotated[int, typer.Option(help="How many items, newest first.")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """Show a remote A2A agent and its outbox: what was forwarded, and how it went."""
    with connected() as client:
        remote = client.a2a_remote(name)
        items = client.a2a_outbox(name, status=status, limit=limit)

    def show(data: dict[str, object]) -> None:
        from rich.table import Table
        from rich.text import Text

        console.print(Text(f"{remote.name}: {remote.url}"))
        if remote.description:
            console.print(Text(remote.description))
        console.print(Text(f"token: {remote.token_hint or '(none)'}"))
        console.print(Text("capabilities: " + (" ".join(remote.capabilities) or "(none)")))
        table = Table("id", "kind", "message", "status", "attempts", "error", "created", "sent")
        for item in items:
            table.add_row(
                str(item.id),
                item.kind,
                str(item.message_id),
                item.status,
                str(item.attempts),
                Text(item.last_error or ""),
                ago(item.created_at),
                ago(item.sent_at),
            )
        console.print(table)

    emit({"remote": remote, "outbox": items}, as_json, show)


@app.command("rm")
def remove(
    name: Annotated[str, typer.Argument(help="Name from 'hubbub a2a ls'.")],
    as_json: JsonFlag = False,
) -> None:
    """Remove a remote A2A agent: its pending items fail and its agent is deleted (its
    messages stay)."""
    with connected() as client:
        gone = client.remove_a2a_remote(name)
    emit(gone, as_json, lambda d: console.print(f"Remote A2A agent {d.name} removed."))
