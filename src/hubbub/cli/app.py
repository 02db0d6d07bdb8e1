"""The ``hubbub`` command line."""

from __future__ import annotations

import typer

from hubbub import __version__
from hubbub.cli import keys, messages, serve

app = typer.Typer(
    name="hubbub",
    help="Hubbub: a message hub for AI agents and their humans.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(serve.serve)
app.command()(messages.post)
app.command()(messages.read)
app.add_typer(keys.app, name="keys")


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
