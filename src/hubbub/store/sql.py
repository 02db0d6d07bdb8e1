"""What the store's queries are written against: statements rendered once per dialect, and
the one small connection interface both engines provide.

Every query in :mod:`hubbub.store` is written once, as an async function of a
:class:`Session`. A statement is SQL with named parameters (``:name``), which SQLite's
driver takes as written; for psycopg, SQLAlchemy Core renders it the first time it runs
(``%(name)s``, with ``%`` escaped), and the rendering is kept for the life of the process.
The few places where the engines' SQL differs take their fragment from the session's
:class:`~hubbub.store.dialect.Dialect`.

SQLite runs these async functions inline, without an event loop (:func:`run_inline`): its
connection never suspends, so a coroutine on it finishes on its first step. PostgreSQL awaits
them on the event loop. Each engine keeps its own execution model — SQLite's group-committing
writer thread and reader threads, PostgreSQL's async writer and pool — behind the same
:class:`Session`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import TypeAdapter

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect as SqlalchemyDialect

    from hubbub.core.events import StoredEvent
    from hubbub.store.dialect import Dialect

T = TypeVar("T")


class Row(Protocol):
    """A result row: its columns by name."""

    def __getitem__(self, key: str) -> Any: ...


class Query:
    """One statement, written once; rendered for a dialect on first use and kept.

    ``source`` is SQL with ``:name`` parameters, or a function of the dialect that returns
    it, for statements that take an engine-specific fragment."""

    __slots__ = ("_rendered", "source")

    def __init__(self, source: str | Callable[[Dialect], str]) -> None:
        self.source = source
        self._rendered: dict[str, str] = {}

    def sql(self, dialect: Dialect) -> str:
        """The statement as ``dialect``'s driver takes it."""
        found = self._rendered.get(dialect.name)
        if found is None:
            source = self.source if isinstance(self.source, str) else self.source(dialect)
            found = self._rendered[dialect.name] = render(source, dialect)
        return found


def render(source: str, dialect: Dialect) -> str:
    """``source`` as ``dialect``'s driver takes it. SQLAlchemy's rendering for SQLite is the
    statement as written (a test holds every statement to that), so a SQLite hub never loads
    SQLAlchemy: its import is a fifth of the hub's start."""
    if dialect.driver is None:
        return source
    from sqlalchemy import text

    return str(text(source).compile(dialect=sqlalchemy_dialect(dialect.driver)))


@functools.cache
def sqlalchemy_dialect(driver: str) -> SqlalchemyDialect:
    """SQLAlchemy's dialect named ``dialect.driver``."""
    from sqlalchemy.dialects import registry

    dialect: SqlalchemyDialect = registry.load(driver)()
    return dialect


class Session(Protocol):
    """A connection in a transaction (the writer's) or in autocommit (a reader's)."""

    @property
    def dialect(self) -> Dialect:
        """The SQL the connection speaks (read-only: an engine's session names its own)."""
        ...

    appended: list[StoredEvent] | None
    """The events the current write appended, for the writer to publish once it commits;
    ``None`` on readers."""

    async def rows(self, query: Query, /, **params: Any) -> Sequence[Row]:
        """Every row ``query`` returns."""
        ...

    async def row(self, query: Query, /, **params: Any) -> Row | None:
        """The first row, if any."""
        ...

    async def value(self, query: Query, /, **params: Any) -> Any:
        """The first column of the first row (``None`` without a row)."""
        ...

    async def run(self, query: Query, /, **params: Any) -> int:
        """Run a statement; the number of rows it changed."""
        ...

    async def models(
        self, adapter: TypeAdapter[list[T]], query: Query, /, **params: Any
    ) -> list[T]:
        """Rows whose first column is a JSON object, parsed into models in one pass."""
        ...

    async def insert(
        self,
        table: str,
        rows: Sequence[Mapping[str, Any]],
        *,
        returning: str | None = None,
        ignore_conflicts: bool = False,
    ) -> list[int]:
        """Insert ``rows`` (each with the same columns) in order; the ``returning`` column of
        each, in insertion order. PostgreSQL does it in one statement."""
        ...


@functools.cache
def insert_sql(
    table: str, columns: tuple[str, ...], source: str, returning: str | None, ignore: bool
) -> str:
    """``INSERT`` into ``columns`` of ``table`` from ``source`` (``VALUES …`` or a query)."""
    sql = f"INSERT INTO {table} ({', '.join(columns)}) {source}"
    if ignore:
        sql += " ON CONFLICT DO NOTHING"
    return f"{sql} RETURNING {returning}" if returning else sql


def run_inline(step: Coroutine[Any, Any, T]) -> T:
    """Run a store coroutine on a connection that never suspends (SQLite's), to the end."""
    try:
        step.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    step.close()
    raise RuntimeError("a store function waited on something other than its connection")
