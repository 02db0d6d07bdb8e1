"""The embedded SQLite store: WAL, one group-committing writer, concurrent readers, FTS5."""

from __future__ import annotations

from pathlib import Path

from hubbub.store.facade import SqlStore
from hubbub.store.sqlite.engine import Database


class SqliteStore(SqlStore):
    """:class:`hubbub.core.store.Store` on one SQLite file."""

    db: Database

    def __init__(
        self,
        path: Path,
        *,
        synchronous: str = "FULL",
        readers: int = 4,
        migrate: bool = True,
        lock_timeout: float = 10.0,
    ) -> None:
        super().__init__(
            Database(
                path,
                synchronous=synchronous,
                readers=readers,
                migrate=migrate,
                lock_timeout=lock_timeout,
            )
        )
