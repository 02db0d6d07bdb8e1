"""``hubbub serve``: run the hub. The server is imported only when this command runs, so the
other commands start quickly."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from hubbub.cli.output import console
from hubbub.paths import default_config_file
from hubbub.settings import Settings

Host = Annotated[str | None, typer.Option(help="Interface to listen on.")]
Port = Annotated[int | None, typer.Option(help="Port (0 picks a free one).")]
Db = Annotated[str | None, typer.Option(help="SQLite file path, or a postgresql:// URL.")]


def serve(
    host: Host = None,
    port: Port = None,
    db: Db = None,
    config_file: Annotated[
        Path | None, typer.Option("--config", help="Client config file to provision.")
    ] = None,
    no_provision: Annotated[
        bool, typer.Option("--no-provision", help="Do not create keys or write the config.")
    ] = False,
    no_migrate: Annotated[
        bool,
        typer.Option(
            "--no-migrate",
            help="Do not migrate the database; refuse one whose schema is behind "
            "(run 'hubbub migrate' first).",
        ),
    ] = False,
) -> None:
    """Run the hub (SQLite, 127.0.0.1:7878 by default). The first start creates the admin key
    and this machine's key and writes the client config."""
    overrides = given(host=host, port=port, db=db)
    if no_provision:
        overrides["provision"] = False
    if no_migrate:
        overrides["migrate"] = False
    settings = checked_settings(overrides)
    # As for every command (hubbub.cli.app.main), start-up builds many objects and frees almost
    # none: the cycle collector waits until the hub answers (serving.run turns it back on).
    gc.disable()
    from hubbub.cli import serving

    serving.run(settings, config_file or default_config_file())


def given(**options: Any) -> dict[str, Any]:
    """The options a command was given (those not ``None``)."""
    return {name: value for name, value in options.items() if value is not None}


def checked_settings(overrides: dict[str, Any]) -> Settings:
    """The hub's settings from ``overrides`` and the environment; a bad one is reported with
    the variable that sets it, and the command ends (exit 2)."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        for problem in error.errors():
            where = ".".join(str(p) for p in problem["loc"])
            console.print(
                f"[red]error[/red]: setting {where} (HUBBUB_{where.upper()}): {problem['msg']}",
                highlight=False,
            )
        raise typer.Exit(2) from None
