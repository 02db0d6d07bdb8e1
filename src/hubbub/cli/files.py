"""``hubbub files``: share a file in a channel or DM, list files, download one (its SHA-256
checked), make a signed link to one, delete one."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.filesize import decimal
from rich.markup import escape

from hubbub.cli.hub import AgentOption, JsonFlag, connected
from hubbub.cli.output import ago, console, emit, errors, json_text

if TYPE_CHECKING:
    from hubbub.core.models import File, FilePage

app = typer.Typer(
    help="Files shared in channels and DMs: share one, list, download, link, delete.",
    no_args_is_help=True,
)
FileId = Annotated[int, typer.Argument(help="The file id.")]
STDIO = "-"


def where(channel: str) -> str:
    """A channel as people name it: ``#name``, or ``dm:a:b`` for a DM."""
    return channel if channel.startswith("dm:") else f"#{channel}"


def describe(file: File) -> str:
    """One line: id, name, size, type, where, who and when."""
    return (
        f"[cyan]{file.id}[/cyan] [bold]{escape(file.name)}[/bold] "
        f"[dim]{decimal(file.size)} {escape(file.content_type)}[/dim] in "
        f"{escape(where(file.channel))} by {escape(file.uploader)} "
        f"[dim]{ago(file.created_at)}[/dim]"
    )


@app.command("put")
def put(
    path: Annotated[str, typer.Argument(help="The file to share, or - to read stdin.")],
    to: Annotated[str, typer.Option("--to", help="#channel or @agent.")],
    message: Annotated[
        str | None,
        typer.Option(help="The message that shares it (else one naming it).", show_default=False),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(help="The name to share it under (default: its own).", show_default=False),
    ] = None,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Share a file in a channel or DM, attached to a message.

    A path is hashed first, so the hub checks that it stored exactly those bytes."""
    source = sys.stdin.buffer if path == STDIO else Path(path)
    with connected(agent) as client:
        shared = client.upload(to, source, name=name, message=message)
    emit(shared, as_json, lambda f: console.print("Shared " + describe(f), highlight=False))


@app.command("get")
def get(
    file_id: FileId,
    output: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", help="Where to save it (- for stdout; default: its name, here)."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a file already there.")] = False,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Download a file; its SHA-256 is checked, and a damaged download keeps nothing."""
    from hubbub.core.errors import Conflict

    with connected(agent) as client:
        if output == STDIO:
            client.download(file_id, sys.stdout.buffer)
            return
        info = client.file(file_id)
        target = Path(output) if output else Path.cwd() / info.name
        if target.is_dir():
            target = target / info.name
        if target.exists() and not force:
            raise Conflict(
                f"{target} exists: pass --force to replace it, or -o another path",
                code="file_exists",
            )
        saved = client.download(file_id, target)
    emit(
        saved,
        as_json,
        lambda f: console.print(
            f"Saved {escape(str(target))} ({decimal(f.size)}, SHA-256 checked).", highlight=False
        ),
    )


@app.command("ls")
def ls(
    channel: Annotated[
        str | None,
        typer.Argument(help="Only this #channel (or @agent DM).", show_default=False),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(help="Only files whose name holds this text.", show_default=False),
    ] = None,
    before: Annotated[
        int | None, typer.Option(help="Only files older than this id.", show_default=False)
    ] = None,
    limit: Annotated[int, typer.Option(help="How many files (1-500).")] = 50,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """List the files I may see, newest first."""
    with connected(agent) as client:
        page = client.files(channel=channel, name=name, before=before, limit=limit)

    def show(found: FilePage) -> None:
        if not found.files:
            console.print("[dim]No files.[/dim]")
        for file in found.files:
            console.print(describe(file), highlight=False)
        if found.has_more:
            console.print(f"[dim]More: --before {found.cursor}[/dim]")

    emit(page, as_json, show)


@app.command("url")
def url(
    file_id: FileId,
    ttl: Annotated[int, typer.Option(help="Seconds the link works (at most 86400, a day).")] = 3600,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Print a signed link to a file, usable without a key.

    It works (in a browser, with curl) until it expires, and stops if the file is deleted."""
    with connected(agent) as client:
        link = client.file_link(file_id, ttl=ttl)
        whole = client.link_url(link)
    if as_json:
        typer.echo(json_text({"url": whole, **link.model_dump(mode="json")}))
        return
    typer.echo(whole)
    errors.print(f"[dim]until {link.expires_at:%Y-%m-%d %H:%M:%S}Z[/dim]", highlight=False)


@app.command("rm")
def rm(file_id: FileId, agent: AgentOption = None, as_json: JsonFlag = False) -> None:
    """Delete a file (its uploader, or an admin)."""
    with connected(agent) as client:
        gone = client.delete_file(file_id)
    emit(gone, as_json, lambda f: console.print("Deleted " + describe(f), highlight=False))
