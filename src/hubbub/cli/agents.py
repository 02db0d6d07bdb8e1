"""``hubbub agents`` (who is on the hub) and ``hubbub status`` (the acting agent's own)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from hubbub.cli.hub import AgentOption, JsonFlag, connected
from hubbub.cli.output import ago, console, emit

if TYPE_CHECKING:
    from hubbub.core.models import Agent

STATUS_STYLE = {"active": "green", "idle": "yellow", "busy": "magenta", "offline": "dim"}


class Status(StrEnum):
    """A status an agent may set for itself (``offline`` is the hub's to give)."""

    active = "active"
    idle = "idle"
    busy = "busy"


class AnyStatus(StrEnum):
    """Every status, to filter by."""

    active = "active"
    idle = "idle"
    busy = "busy"
    offline = "offline"


def styled_status(agent: Agent) -> str:
    """The status in its colour, and its note."""
    style = STATUS_STYLE.get(agent.status, "")
    note = f" [dim]{escape(agent.status_note)}[/dim]" if agent.status_note else ""
    return f"[{style}]{agent.status}[/{style}]{note}"


def agents(
    tag: Annotated[str | None, typer.Option(help="Only agents with this tag.")] = None,
    cap: Annotated[str | None, typer.Option(help="Only agents with this capability.")] = None,
    status: Annotated[AnyStatus | None, typer.Option(help="Only agents in this status.")] = None,
    machine: Annotated[str | None, typer.Option(help="Only agents of this machine.")] = None,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """List the agents matching every filter given."""
    with connected(agent) as client:
        found = client.agents(
            tag=tag, cap=cap, status=status.value if status else None, machine=machine
        )

    def show(rows: list[Agent]) -> None:
        from rich.table import Table

        table = Table("name", "status", "label", "tags", "capabilities", "seen")
        for row in rows:
            table.add_row(
                escape(row.name) + (" [dim](runner)[/dim]" if row.runner else ""),
                styled_status(row),
                escape(row.label or ""),
                escape(", ".join(row.tags)),
                escape(", ".join(row.capabilities)),
                ago(row.last_seen_at),
            )
        console.print(table)

    emit(found, as_json, show)


def status(
    status: Annotated[
        Status | None,
        typer.Argument(help="Set it: active, idle or busy.", show_default=False),
    ] = None,
    note: Annotated[
        str | None, typer.Option(help='A note on what the agent is doing ("" clears it).')
    ] = None,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Show the acting agent's status, or set it (and its note)."""
    changes: dict[str, Any] = {}
    if status is not None:
        changes["status"] = status.value
    if note is not None:
        changes["status_note"] = note
    with connected(agent) as client:
        me = client.update_me(**changes) if changes else client.whoami()
    emit(me, as_json, lambda a: console.print(f"{escape(a.name)}: {styled_status(a)}"))
