"""``hubbub channels``: list them, and create, join, leave, archive or invite to one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from hubbub.cli.hub import AgentOption, JsonFlag, connected
from hubbub.cli.output import ago, console, emit

if TYPE_CHECKING:
    from hubbub.core.models import Channel

app = typer.Typer(
    help="With no command, list the public channels and those the agent is in; or create, "
    "join, leave, archive or invite to one.",
    subcommand_metavar="[COMMAND] [ARGS]...",
)
NameArgument = Annotated[str, typer.Argument(help="Channel name (a leading # is fine).")]


@app.callback(invoke_without_command=True)
def channels(
    context: typer.Context,
    archived: Annotated[
        bool, typer.Option("--archived", help="Include archived channels.")
    ] = False,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """List the public channels and those the agent belongs to (with no subcommand)."""
    if context.invoked_subcommand is not None:
        return
    with connected(agent) as client:
        found = client.channels(include_archived=archived)
    emit(found, as_json, show_channels)


def show_channels(rows: list[Channel]) -> None:
    """Channels as a table."""
    from rich.table import Table

    table = Table("name", "visibility", "topic", "last", "created")
    for channel in rows:
        name = f"#{channel.name}" + (" (archived)" if channel.archived else "")
        table.add_row(
            escape(name),
            channel.visibility,
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
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a channel, public unless --private or --secret, with the agent as a member."""
    if private and secret:
        raise typer.BadParameter("choose --private or --secret, not both")
    visibility = "secret" if secret else "private" if private else "public"
    with connected(agent) as client:
        made = client.create_channel(name, visibility=visibility, topic=topic)
    emit(made, as_json, lambda c: _say(f"Created {c.visibility} channel #{escape(c.name)}."))


@app.command()
def join(name: NameArgument, agent: AgentOption = None, as_json: JsonFlag = False) -> None:
    """Join a public channel."""
    with connected(agent) as client:
        joined = client.join(name)
    emit(joined, as_json, lambda c: _say(f"Joined #{escape(c.name)}."))


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
