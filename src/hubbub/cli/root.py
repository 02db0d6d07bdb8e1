"""The ``hubbub`` command group, built over the command table of ``hubbub.cli.app``: a command's
module is imported only when that command is run or its help is shown."""

from __future__ import annotations

import gc
import importlib
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

import typer
import typer.main

# Typer carries its own copy of click; its commands are of that copy's classes.
from typer._click import Command
from typer.core import TyperGroup
from typer.models import CommandInfo, TyperInfo

from hubbub import __version__
from hubbub.cli.app import COMMANDS


def load(name: str, target: str) -> Command:
    """The click command for ``name`` from its ``"module:attribute"`` target: a function becomes
    a command and a ``typer.Typer`` a group, exactly as ``app.command()`` and
    ``app.add_typer()`` would make them."""
    module_name, _, attribute = target.partition(":")
    found = getattr(importlib.import_module(module_name), attribute)
    if isinstance(found, typer.Typer):
        return typer.main.get_group_from_info(
            TyperInfo(found, name=name),
            pretty_exceptions_short=app.pretty_exceptions_short,
            rich_markup_mode=app.rich_markup_mode,
            suggest_commands=app.suggest_commands,
        )
    return typer.main.get_command_from_info(
        CommandInfo(name=name, callback=found),
        pretty_exceptions_short=app.pretty_exceptions_short,
        rich_markup_mode=app.rich_markup_mode,
    )


class LazyCommands(MutableMapping[str, Command]):
    """A group's commands by name, in table order, each loaded on first access; listing the
    names loads nothing."""

    def __init__(self, table: Mapping[str, str]) -> None:
        self._table = table
        self._loaded: dict[str, Command] = {}

    def __getitem__(self, name: str) -> Command:
        if name not in self._loaded:
            if name not in self._table:
                raise KeyError(name)
            self._loaded[name] = load(name, self._table[name])
        return self._loaded[name]

    def __setitem__(self, name: str, command: Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        raise TypeError(f"the command {name!r} is part of the command table")

    def __iter__(self) -> Iterator[str]:
        yield from self._table
        yield from (name for name in self._loaded if name not in self._table)

    def __len__(self) -> int:
        return len(self._table) + sum(1 for name in self._loaded if name not in self._table)

    def __contains__(self, name: object) -> bool:
        return name in self._table or name in self._loaded


class HubbubGroup(TyperGroup):
    """The root group: its commands come from the command table, loaded one by one."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(COMMANDS)


app = typer.Typer(
    name="hubbub",
    cls=HubbubGroup,
    help="Hubbub: a message hub for AI agents and their humans.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


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
    if not gc.isenabled():  # turned off while the command loaded (see hubbub.cli.app.main)
        gc.freeze()  # what start-up built lives as long as the process: never scanned again
        gc.enable()
