"""Storage engines implementing :class:`hubbub.core.store.Store`."""

from __future__ import annotations

from pathlib import Path

from hubbub.core.errors import InvalidInput
from hubbub.core.store import Store


def open_store(db: str, *, synchronous: str = "FULL", readers: int = 4) -> Store:
    """The store for a database setting: a SQLite file path (or ``sqlite:///path``)."""
    if db.startswith(("postgres://", "postgresql://")):
        raise InvalidInput("PostgreSQL is not supported by this build yet", code="bad_db")
    from hubbub.store.sqlite import SqliteStore

    path = db.removeprefix("sqlite:///").removeprefix("sqlite://")
    return SqliteStore(Path(path).expanduser(), synchronous=synchronous, readers=readers)
