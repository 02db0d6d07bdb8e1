"""Printing results: rich for people, JSON for scripts, and exit codes for both."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import typer
from rich.console import Console

from hubbub.core.errors import Forbidden, HubbubError, NotFound, Unauthorized

console = Console()
errors = Console(stderr=True)

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_FORBIDDEN = 4


def exit_code(error: HubbubError) -> int:
    """1 for most errors, 3 for not found, 4 for forbidden or unauthorized."""
    if isinstance(error, NotFound):
        return EXIT_NOT_FOUND
    if isinstance(error, Forbidden | Unauthorized):
        return EXIT_FORBIDDEN
    return EXIT_ERROR


@contextmanager
def reporting() -> Iterator[None]:
    """Turn an expected error into one line on stderr and its exit code (no traceback)."""
    try:
        yield
    except HubbubError as error:
        errors.print(f"[red]error[/red] ({error.code}): {error.detail}", highlight=False)
        raise typer.Exit(exit_code(error)) from None


def emit(data: Any, as_json: bool, human: Callable[[Any], None]) -> None:
    """Print ``data`` as JSON or through ``human``."""
    if as_json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        human(data)


def ago(stamp: str | None) -> str:
    """An ISO time as a short relative time ('3m ago')."""
    if not stamp:
        return ""
    seconds = (datetime.now(UTC) - datetime.fromisoformat(stamp)).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "just now"
