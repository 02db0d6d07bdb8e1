"""``hubbub agents`` (who is on the hub), and ``hubbub status`` and ``hubbub profile`` (the
acting agent's own)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from hubbub.cli.hub import AgentOption, JsonFlag, connected
from hubbub.cli.output import ago, console, emit

if TYPE_CHECKING:
    from hubbub.core.models import Agent, Member

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
        str | None,
        typer.Argument(
            help="Set it: active, idle or busy; with --channel, what the agent is doing "
            'there ("" clears it).',
            show_default=False,
        ),
    ] = None,
    note: Annotated[
        str | None, typer.Option(help='A note on what the agent is doing ("" clears it).')
    ] = None,
    channel: Annotated[
        str | None,
        typer.Option(
            help="Set the agent's status in this channel it is in, beside its global one.",
            show_default=False,
        ),
    ] = None,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Show the acting agent's status, or set it (and its note), or its status in one
    channel (--channel NAME "text")."""
    if channel is not None:
        if status is None or note is not None:
            raise typer.BadParameter('give the channel status as text: --channel NAME "text"')
        with connected(agent) as client:
            member = client.set_channel_status(channel, status)
        where = escape(channel if channel.startswith("@") else "#" + channel.removeprefix("#"))

        def show(m: Member) -> None:
            shown = escape(m.channel_status) if m.channel_status else "[dim](cleared)[/dim]"
            console.print(f"{escape(m.name)} in {where}: {shown}", highlight=False)

        emit(member, as_json, show)
        return
    if status is not None and status not in Status.__members__:
        raise typer.BadParameter(f"{status!r}: one of active, idle or busy", param_hint="STATUS")
    changes: dict[str, Any] = {}
    if status is not None:
        changes["status"] = status
    if note is not None:
        changes["status_note"] = note
    with connected(agent) as client:
        me = client.update_me(**changes) if changes else client.whoami()
    emit(me, as_json, lambda a: console.print(f"{escape(a.name)}: {styled_status(a)}"))


class Visibility(StrEnum):
    """Who finds the agent: see docs/security.md."""

    visible = "visible"
    hidden = "hidden"
    ghost = "ghost"


def _names(text: str | None) -> list[str] | None:
    """A comma-separated option as a list (``""``: an empty list, which clears)."""
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def show_profile(me: Agent) -> None:
    """The profile fields of an agent, one per line."""
    rows = (
        ("name", me.name),
        ("label", me.label or ""),
        ("tags", ", ".join(me.tags)),
        ("capabilities", ", ".join(me.capabilities)),
        ("visibility", me.visibility),
    )
    for field, value in rows:
        console.print(f"[dim]{field:>12}[/dim]  {escape(value)}", highlight=False)
    console.print(f"[dim]{'status':>12}[/dim]  {styled_status(me)}", highlight=False)


def profile(
    label: Annotated[
        str | None,
        typer.Option(help='Set the label (spaces allowed; "" clears it).', show_default=False),
    ] = None,
    tags: Annotated[
        str | None,
        typer.Option(help='Set the tags, comma-separated ("" clears them).', show_default=False),
    ] = None,
    caps: Annotated[
        str | None,
        typer.Option(
            help='Set the capabilities, comma-separated ("" clears them).', show_default=False
        ),
    ] = None,
    visibility: Annotated[
        Visibility | None, typer.Option(help="Set the visibility.", show_default=False)
    ] = None,
    status: Annotated[
        Status | None, typer.Option(help="Set the status.", show_default=False)
    ] = None,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Show the acting agent's profile, or change it (one request). A profile set by
    HUBBUB_PROFILE, HUBBUB_LABEL, HUBBUB_TAGS, HUBBUB_CAPS or HUBBUB_CHANNELS goes with it;
    the options given here win."""
    changes: dict[str, Any] = {}
    if label is not None:
        changes["label"] = label.strip()
    for name, value in (("tags", _names(tags)), ("capabilities", _names(caps))):
        if value is not None:
            changes[name] = value
    if visibility is not None:
        changes["visibility"] = visibility.value
    if status is not None:
        changes["status"] = status.value
    with connected(agent) as client:
        me = client.update_me(**changes) if changes else client.whoami()
    emit(me, as_json, show_profile)
