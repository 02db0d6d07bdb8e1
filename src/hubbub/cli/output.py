"""Printing results: rich for people, JSON for scripts, and exit codes for both."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape

from hubbub.core.errors import Forbidden, HubbubError, NotFound, Unauthorized

console = Console()
errors = Console(stderr=True)
T = TypeVar("T")

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
        errors.print(
            f"[red]error[/red] ({error.code}): {escape(error.detail)}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(exit_code(error)) from None


def plain(data: Any) -> Any:
    """``data`` as JSON-ready values: models as ``model_dump(mode="json")``."""
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json")
    if isinstance(data, list | tuple):
        return [plain(item) for item in data]
    if isinstance(data, dict):
        return {key: plain(value) for key, value in data.items()}
    return data


def json_text(data: Any, *, indent: int | None = 2) -> str:
    """``data`` as JSON text (one line with ``indent=None``)."""
    return json.dumps(plain(data), indent=indent, ensure_ascii=False)


def emit(data: T, as_json: bool, human: Callable[[T], None]) -> None:
    """Print ``data`` as JSON or through ``human``."""
    if as_json:
        typer.echo(json_text(data))
    else:
        human(data)


def ago(stamp: datetime | str | None) -> str:
    """A time as a short relative time ('3m ago')."""
    if not stamp:
        return ""
    when = datetime.fromisoformat(stamp) if isinstance(stamp, str) else stamp
    seconds = (datetime.now(UTC) - when).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "just now"
