"""Storage engines implementing :class:`hubbub.core.store.Store`."""

from __future__ import annotations

from pathlib import Path

from hubbub.core.store import Store

POSTGRES_SCHEMES = ("postgres://", "postgresql://")


def is_postgres(db: str) -> bool:
    """True if the ``db`` setting names a PostgreSQL database (a ``postgresql://`` URL)."""
    return db.startswith(POSTGRES_SCHEMES)


def open_store(
    db: str,
    *,
    synchronous: str = "FULL",
    readers: int = 4,
    pool_min: int = 1,
    pool_max: int = 10,
    statement_timeout: float = 30.0,
    migrate: bool = True,
    lock_timeout: float = 10.0,
) -> Store:
    """The store for a database setting: a ``postgresql://`` URL, or a SQLite file path (or
    ``sqlite:///path``). Nothing is opened yet. Opening migrates the schema, or, with
    ``migrate=False``, refuses one that is behind this build (``schema_too_old``)."""
    if is_postgres(db):
        from hubbub.store.postgres import PostgresStore

        return PostgresStore(
            db,
            pool_min=pool_min,
            pool_max=pool_max,
            statement_timeout=statement_timeout,
            migrate=migrate,
        )
    from hubbub.store.sqlite import SqliteStore

    return SqliteStore(
        sqlite_path(db),
        synchronous=synchronous,
        readers=readers,
        migrate=migrate,
        lock_timeout=lock_timeout,
    )


def sqlite_path(db: str) -> Path:
    """The file a SQLite ``db`` setting names (a path, or ``sqlite:///path``)."""
    return Path(db.removeprefix("sqlite:///").removeprefix("sqlite://")).expanduser()
