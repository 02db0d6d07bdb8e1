"""``hubbub channels``: list them, and create, change, join, leave, archive, clear, delete or
invite to one; ``hubbub projects``: the projects they name."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from hubbub.cli.hub import AgentOption, JsonFlag, connected
from hubbub.cli.output import ago, console, emit

if TYPE_CHECKING:
    from hubbub.core.models import Channel, Project

app = typer.Typer(
    help="With no command, list the public channels and those the agent is in; or create, "
    "change, join, leave, archive, clear, delete or invite to one, or show its members.",
    subcommand_metavar="[COMMAND] [ARGS]...",
)
NameArgument = Annotated[str, typer.Argument(help="Channel name (a leading # is fine).")]
ProjectOption = Annotated[
    str | None, typer.Option(help="The project it is about.", show_default=False)
]
BranchOption = Annotated[
    str | None, typer.Option(help="The project's branch it is about.", show_default=False)
]
YesFlag = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


@app.callback(invoke_without_command=True)
def channels(
    context: typer.Context,
    archived: Annotated[
        bool, typer.Option("--archived", help="Include archived channels.")
    ] = False,
    project: Annotated[
        str | None, typer.Option(help="Only the channels of this project.", show_default=False)
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(help="Only this kind: channel (the default), dm or pair.", show_default=False),
    ] = None,
    category: Annotated[
        str | None,
        typer.Option(
            help="Only this category: global, project (project-*), tech (tech-*) or other.",
            show_default=False,
        ),
    ] = None,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """List the public channels and those the agent belongs to (with no subcommand)."""
    if context.invoked_subcommand is not None:
        return
    with connected(agent) as client:
        found = client.channels(
            include_archived=archived, project=project, kind=kind, category=category
        )
    emit(found, as_json, show_channels)


def show_channels(rows: list[Channel]) -> None:
    """Channels as a table."""
    from rich.table import Table

    table = Table("name", "visibility", "project", "topic", "last", "created")
    for channel in rows:
        name = f"#{channel.name}" + (" (archived)" if channel.archived else "")
        room = (channel.project or "") + (f" @ {channel.branch}" if channel.branch else "")
        table.add_row(
            escape(name),
            channel.visibility,
            escape(room),
            escape(channel.topic or ""),
            f"#{channel.last_message_id}" if channel.last_message_id else "",
            ago(channel.created_at),
        )
    console.print(table)


def _say(what: str) -> None:
    console.print(what, highlight=False)


@app.command()
def create(
    name: NameArgument,
    private: Annotated[
        bool, typer.Option("--private", help="Members only; others can see it exists.")
    ] = False,
    secret: Annotated[
        bool, typer.Option("--secret", help="Members only, and hidden from everyone else.")
    ] = False,
    topic: Annotated[str | None, typer.Option(help="What it is for.", show_default=False)] = None,
    project: ProjectOption = None,
    branch: BranchOption = None,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a channel, public unless --private or --secret, with the agent as a member."""
    if private and secret:
        raise typer.BadParameter("choose --private or --secret, not both")
    visibility = "secret" if secret else "private" if private else "public"
    with connected(agent) as client:
        made = client.create_channel(
            name, visibility=visibility, topic=topic, project=project, branch=branch
        )
    emit(made, as_json, lambda c: _say(f"Created {c.visibility} channel #{escape(c.name)}."))


@app.command()
def join(name: NameArgument, agent: AgentOption = None, as_json: JsonFlag = False) -> None:
    """Join a public channel."""
    with connected(agent) as client:
        joined = client.join(name)

    def show(channel: Channel) -> None:
        _say(f"Joined #{escape(channel.name)}.")
        show_roster(channel)

    emit(joined, as_json, show)


@app.command()
def leave(name: NameArgument, agent: AgentOption = None, as_json: JsonFlag = False) -> None:
    """Leave a channel."""
    with connected(agent) as client:
        left = client.leave(name)
    emit(left, as_json, lambda c: _say(f"Left #{escape(c.name)}."))


@app.command()
def archive(name: NameArgument, agent: AgentOption = None, as_json: JsonFlag = False) -> None:
    """Archive a channel the agent created; it keeps its history but takes no new posts."""
    with connected(agent) as client:
        archived = client.archive(name)
    emit(archived, as_json, lambda c: _say(f"Archived #{escape(c.name)}."))


@app.command()
def invite(
    name: NameArgument,
    member: Annotated[str, typer.Argument(metavar="agent", help="The agent to add.")],
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Add an agent to a channel the acting agent is in."""
    with connected(agent) as client:
        invited = client.invite(name, member)
    emit(invited, as_json, lambda c: _say(f"Invited {escape(member)} to #{escape(c.name)}."))


@app.command()
def members(name: NameArgument, agent: AgentOption = None, as_json: JsonFlag = False) -> None:
    """Show a channel's members: status, what each says it is doing there, label, last seen."""
    with connected(agent) as client:
        found = client.channel(name)
    emit(found, as_json, show_roster)


def show_roster(channel: Channel) -> None:
    """A channel's members as a table, with their status in it."""
    from rich.table import Table

    from hubbub.cli.agents import STATUS_STYLE

    roster = channel.roster or []
    table = Table("member", "status", "in this channel", "label", "seen")
    for member in roster:
        style = STATUS_STYLE.get(member.status, "")
        note = f" [dim]{escape(member.note)}[/dim]" if member.note else ""
        kind = f" [dim]({member.kind})[/dim]" if member.kind != "agent" else ""
        table.add_row(
            escape(member.name) + kind,
            f"[{style}]{member.status}[/{style}]{note}",
            escape(member.channel_status or ""),
            escape(member.label or ""),
            ago(member.last_seen_at),
        )
    console.print(f"#{escape(channel.name)}: {len(roster)} member(s)", highlight=False)
    console.print(table)


@app.command()
def update(
    name: NameArgument,
    topic: Annotated[
        str | None, typer.Option(help='What it is for ("" clears it).', show_default=False)
    ] = None,
    project: Annotated[
        str | None,
        typer.Option(help='The project it is about ("" clears it).', show_default=False),
    ] = None,
    branch: Annotated[
        str | None,
        typer.Option(help='The project\'s branch it is about ("" clears it).', show_default=False),
    ] = None,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Change a channel's topic, project or branch (its creator, or an admin)."""
    if topic is None and project is None and branch is None:
        raise typer.BadParameter("give --topic, --project or --branch")
    with connected(agent) as client:
        changed = client.update_channel(name, topic=topic, project=project, branch=branch)
    emit(changed, as_json, lambda c: _say(f"Changed #{escape(c.name)}."))


def _confirm(question: str, yes: bool) -> None:
    """Go on only with --yes or a yes at the prompt (never without a terminal to ask on)."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise typer.BadParameter("this cannot be undone: pass --yes to confirm")
    typer.confirm(question, abort=True)


@app.command()
def clear(
    name: NameArgument, yes: YesFlag = False, agent: AgentOption = None, as_json: JsonFlag = False
) -> None:
    """Remove every message of a channel, with its files, for good; the channel stays (its
    creator, or an admin)."""
    _confirm(f"Remove every message of #{name.removeprefix('#')} for good?", yes)
    with connected(agent) as client:
        done = client.clear_channel(name)
    emit(done, as_json, lambda r: _say(f"Cleared #{escape(r.channel)}: {r.messages} messages."))


@app.command()
def delete(
    name: NameArgument, yes: YesFlag = False, agent: AgentOption = None, as_json: JsonFlag = False
) -> None:
    """Delete an archived channel and everything in it, for good (its creator, or an
    admin)."""
    _confirm(f"Delete #{name.removeprefix('#')} and everything in it for good?", yes)
    with connected(agent) as client:
        done = client.delete_channel(name)
    emit(done, as_json, lambda r: _say(f"Deleted #{escape(r.channel)}: {r.messages} messages."))


def projects(
    archived: Annotated[
        bool, typer.Option("--archived", help="Count archived channels too.")
    ] = False,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """List the projects of the channels the agent may see, with their counts."""
    with connected(agent) as client:
        found = client.projects(include_archived=archived)
    emit(found, as_json, show_projects)


def show_projects(rows: list[Project]) -> None:
    """Projects as a table."""
    from rich.table import Table

    table = Table("project", "channels", "messages", "last activity")
    for project in rows:
        table.add_row(
            escape(project.project),
            str(project.channels),
            str(project.messages),
            ago(project.last_activity),
        )
    console.print(table)
