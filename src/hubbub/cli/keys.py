"""``hubbub keys``: create, list and revoke keys (needs the admin key)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from hubbub.cli.hub import JsonFlag, connected
from hubbub.cli.output import ago, console, emit

if TYPE_CHECKING:
    from hubbub.core.models import KeyInfo, NewKey

app = typer.Typer(help="Machine keys and admin keys (needs the admin key).", no_args_is_help=True)


@app.command("create")
def create(
    machine: Annotated[
        str | None, typer.Option(help="Machine whose agents the key may act as.")
    ] = None,
    label: Annotated[str | None, typer.Option(help="A note to recognise the key by.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Create an admin key instead.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Create a key and print it once."""
    if not admin and not machine:
        raise typer.BadParameter("give --machine NAME (or --admin)")
    with connected() as client:
        made = client.create_key(None if admin else machine, admin=admin, label=label)

    def show(data: NewKey) -> None:
        info = data.info
        who = "admin" if info.kind == "admin" else f"machine {info.machine}"
        console.print(f"Key {info.id} for {who} (shown once, store it now):")
        console.print(data.key, soft_wrap=True, highlight=False)

    emit(made, as_json, show)


@app.command("list")
def list_keys(as_json: JsonFlag = False) -> None:
    """List keys (never their secrets)."""
    with connected() as client:
        found = client.keys()

    def show(rows: list[KeyInfo]) -> None:
        from rich.table import Table

        table = Table("id", "kind", "machine", "label", "prefix", "created", "revoked")
        for row in rows:
            table.add_row(
                str(row.id),
                row.kind,
                row.machine or "",
                row.label or "",
                row.prefix + "…",
                ago(row.created_at),
                ago(row.revoked_at),
            )
        console.print(table)

    emit(found, as_json, show)


@app.command("revoke")
def revoke(
    key_id: Annotated[int, typer.Argument(help="Id from 'hubbub keys list'.")],
    as_json: JsonFlag = False,
) -> None:
    """Revoke a key; it stops working at once."""
    with connected() as client:
        info = client.revoke_key(key_id)
    emit(info, as_json, lambda d: console.print(f"Key {d.id} revoked."))
