"""Who the CLI is on which hub: ``hubbub login``, ``whoami`` and ``config show``."""

from __future__ import annotations

import os
from dataclasses import fields
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from hubbub import config
from hubbub.cli.agents import styled_status
from hubbub.cli.hub import AgentOption, JsonFlag, connected
from hubbub.cli.output import ago, console, emit
from hubbub.paths import default_config_file

if TYPE_CHECKING:
    from hubbub.core.models import Agent

app = typer.Typer(help="The client config.", no_args_is_help=True)
SECRETS = ("key", "admin_key")
SHOWN = 12  # as many characters as 'hubbub keys list' shows of a key


def mask(secret: str | None) -> str | None:
    """The start of a secret, enough to recognise it."""
    return None if secret is None else secret[:SHOWN] + "…"


def login(
    url: Annotated[str, typer.Argument(help="The hub's URL, e.g. http://hub.example:7878.")],
    key: Annotated[str, typer.Option(help="This machine's key (hb_…), from 'hubbub keys create'.")],
    machine: Annotated[
        str | None,
        typer.Option(help="The machine the key belongs to (default: as configured now)."),
    ] = None,
    agent: Annotated[
        str | None,
        typer.Option(help="Always act as this agent, not {machine}-{directory}."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check a key against a hub, then write it to the client config (mode 0600)."""
    machine = machine or config.load().machine
    if not machine:
        raise typer.BadParameter("give --machine NAME: the machine the key belongs to")
    path = default_config_file()
    url = url.rstrip("/")
    before = config.read_file(path)
    # The admin key stays only if it is for the same hub.
    admin_key = before.admin_key if before.url == url else None
    settings = config.ClientConfig(
        url=url, key=key, machine=machine, agent=agent, admin_key=admin_key
    )
    with connected(settings.agent_name(), url=url, key=key) as client:
        me = client.whoami()
    written = config.write_file(settings, path)

    def show(agent_now: Agent) -> None:
        console.print(
            f"Logged in to [cyan]{escape(url)}[/cyan] as [bold]{escape(agent_now.name)}[/bold]; "
            f"wrote {escape(str(written))} (mode 0600).",
            highlight=False,
        )

    emit(me, as_json, show)


def whoami(agent: AgentOption = None, as_json: JsonFlag = False) -> None:
    """The acting agent, as the hub knows it (registered on first use)."""
    with connected(agent) as client:
        me = client.whoami()
        url = client.settings.url

    def show(who: Agent) -> None:
        from rich.table import Table

        table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
        rows = [
            ("agent", f"[bold]{escape(who.name)}[/bold] ({who.kind})"),
            ("hub", escape(url)),
            ("machine", escape(who.machine)),
            ("status", styled_status(who)),
            ("label", escape(who.label or "")),
            ("tags", escape(", ".join(who.tags))),
            ("capabilities", escape(", ".join(who.capabilities))),
            ("visibility", who.visibility),
            ("registered", ago(who.created_at)),
        ]
        for name, value in rows:
            table.add_row(f"[dim]{name}[/dim]", value)
        console.print(table)

    emit(me, as_json, show)


@app.command("show")
def show_config(agent: AgentOption = None, as_json: JsonFlag = False) -> None:
    """The settings the CLI would use here, and where each comes from (secrets masked)."""
    path = default_config_file()
    resolved = config.load(path)
    settings: dict[str, Any] = {}
    for field in fields(config.ClientConfig):
        name = field.name
        value = getattr(resolved, name)
        source = "env" if os.environ.get(f"HUBBUB_{name.upper()}") else "file"
        if name == "agent" and agent:
            value, source = agent, "--agent"
        elif name == "agent" and not value:
            value, source = resolved.agent_name(), "machine + directory"
        if value is None:
            source = "unset"
        elif name in SECRETS:
            value = mask(value)
        settings[name] = {"value": value, "source": source}
    found = {"file": str(path), "exists": path.exists(), "settings": settings}

    def show(data: dict[str, Any]) -> None:
        from rich.table import Table

        state = "" if data["exists"] else " [yellow](absent)[/yellow]"
        console.print(f"[dim]config file[/dim] {escape(data['file'])}{state}", highlight=False)
        table = Table("setting", "value", "from")
        for name, row in data["settings"].items():
            table.add_row(name, escape(row["value"] or ""), row["source"])
        console.print(table)

    emit(found, as_json, show)
