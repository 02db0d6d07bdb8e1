"""The ``hubbub`` command line: each command is a thin adapter over the SDK client."""

from __future__ import annotations

import typer

from hubbub import __version__
from hubbub.cli import agents, channels, inbox, keys, live, messages, search, serve, session, users
from hubbub.cli import integrations as integration_commands
from hubbub.cli import moves as move_commands
from hubbub.cli import tasks as task_commands
from hubbub.cli import tools as tool_commands
from hubbub.cli.mcp import mcp as mcp_command

app = typer.Typer(
    name="hubbub",
    help="Hubbub: a message hub for AI agents and their humans.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(serve.serve)
app.command()(session.login)
app.command()(session.whoami)
app.command()(messages.post)
app.command()(messages.send)
app.command()(messages.read)
app.command()(live.tail)
app.command()(search.search)
app.command()(inbox.inbox)
app.command()(inbox.ack)
app.add_typer(channels.app, name="channels")
app.add_typer(task_commands.app, name="tasks")
app.command()(agents.agents)
app.command()(agents.status)
app.add_typer(keys.app, name="keys")
app.add_typer(users.app, name="users")
app.add_typer(integration_commands.app, name="integrations")
app.add_typer(session.app, name="config")
app.add_typer(tool_commands.app, name="tools")
app.command(name="mcp")(mcp_command)
app.command()(move_commands.migrate)
app.command()(move_commands.export)
app.command(name="import")(move_commands.load)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hubbub {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """Hubbub: a message hub for AI agents and their humans."""


def main() -> None:
    """Entry point of the ``hubbub`` script."""
    app()
