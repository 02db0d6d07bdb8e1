"""Direct access to a hub's database, outside any running hub, for ``hubbub migrate``,
``export`` and ``import``: :class:`Direct`, written once for both engines, over which
:mod:`hubbub.store.dumpfile` writes and reads the export file. What each engine does its own
way is kept small, side by side, in :class:`SqliteDirect` and :class:`PostgresDirect`.

An export reads every table in one read transaction: a snapshot, while hubs go on writing.
On SQLite it is a WAL read transaction, from its first read; on PostgreSQL ``REPEATABLE READ
READ ONLY``, each table through a server-side cursor. An import writes in one transaction,
committed only if all of it succeeded. On SQLite that is ``BEGIN IMMEDIATE``, with the search
index's triggers dropped while the rows go in and the index rebuilt once at the end; on
PostgreSQL it holds the hubs' write lock and loads with ``COPY``, and the search index (an
expression index) keeps up as the rows arrive.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import ClassVar, Generic, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row, tuple_row
from psycopg.types.string import TextLoader

from hubbub.core.errors import InvalidInput, Unavailable
from hubbub.store import keys, migrations
from hubbub.store.dialect import POSTGRES, SQLITE, Dialect
from hubbub.store.migrations import Migration
from hubbub.store.postgres import engine as postgres
from hubbub.store.postgres.engine import PostgresSession
from hubbub.store.sql import Query, Session
from hubbub.store.sqlite import engine as sqlite
from hubbub.store.sqlite.engine import SqliteSession
from hubbub.store.transfer import (
    BATCH,
    BOOKKEEPING,
    SEEDED,
    TABLES,
    Engine,
    Row,
    SchemaState,
    Table,
)

S = TypeVar("S", bound=Session)

AGENTS = Query("SELECT name, machine FROM agents WHERE kind = 'agent'")


class Direct(ABC, Generic[S]):
    """One database, reached directly (nothing is opened until a method needs it)."""

    engine: Engine
    label: str
    """The engine, as messages name it."""
    dialect: Dialect
    shown: str
    """The database as it may be printed (never a password)."""
    refused: tuple[type[Exception], ...]
    """The engine's errors for a row it will not take (a bad value, a broken constraint)."""
    TABLE_NAMES: ClassVar[Query]
    """The tables of the database, with the engine's own (search index tables…) left out."""
    COLUMNS: ClassVar[Query]
    """The columns of the table ``:table``, in order."""
    KEY: ClassVar[Query]
    """The primary key's columns of the table ``:table``, in order."""
    COUNTER: ClassVar[Query]
    """The last id the counter of ``:table`` (numbering ``:column``) handed out, if any."""

    async def schema(self) -> SchemaState:
        """Where the schema stands; refuses one newer than this build, or a changed one."""
        known = migrations.shipped(self.dialect)
        applied: dict[int, str] = {}
        if self.exists():
            async with self.connect() as conn:
                applied = await migrations.applied(conn)
        return SchemaState(max(applied, default=0), len(known), migrations.pending(applied, known))

    async def migrate(self, on_apply: Callable[[Migration], None]) -> list[Migration]:
        """Apply the pending migrations, creating the database if it is a new SQLite file."""
        done: list[Migration] = []

        def applied(step: Migration) -> None:
            done.append(step)
            on_apply(step)

        async with self.connect(write=True) as conn:
            await migrations.migrate(self.migrator(conn), applied)
        return done

    async def occupied(self) -> dict[str, int]:
        """The data tables that hold rows (seeded ones aside), with their counts; nothing
        for a database with no schema yet."""
        if not self.exists():
            return {}
        async with self.connect() as conn:
            return await self.filled(conn)

    async def namespaces(self) -> tuple[list[str], list[tuple[str, str]]]:
        """Every machine a key was created for, and every agent of kind ``agent`` with the
        machine that registered it, for :func:`hubbub.core.machines.misplaced`; nothing for
        a database with no schema yet."""
        if not self.exists():
            return [], []
        async with self.connect() as conn:
            if not {"keys", "agents"} <= await self.tables(conn):
                return [], []
            agents = [(str(r["name"]), str(r["machine"])) for r in await conn.rows(AGENTS)]
            return await keys.machine_names(conn), agents

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Snapshot[S]]:
        """A consistent read of a database at this build's schema (else
        ``schema_too_old``); a hub may be writing meanwhile."""
        async with self.connect() as conn, self.reading(conn):
            known = migrations.shipped(self.dialect)
            migrations.require_current(await migrations.applied(conn), known)
            self.check_tables(await self.tables(conn))
            tables = [Table(t, await self.columns(conn, t), await _count(conn, t)) for t in TABLES]
            yield Snapshot(self, conn, len(known), tables)

    @contextlib.asynccontextmanager
    async def loader(self) -> AsyncIterator[Loader[S]]:
        """A write transaction, committed when the block ends without an error."""
        async with self.connect(write=True) as conn, self.writing(conn):
            yield Loader(self, conn)

    async def discard(self) -> None:
        """Undo the creation of the database, if this object created it (a new SQLite file
        an import failed to fill)."""

    def exists(self) -> bool:
        """Whether there may be a database to read (a SQLite file may not exist yet)."""
        return True

    # the catalog, through the engine's queries

    async def tables(self, conn: S) -> set[str]:
        """The data tables, and any other table of the hub's bookkeeping aside."""
        return {str(r["name"]) for r in await conn.rows(self.TABLE_NAMES)} - BOOKKEEPING

    async def columns(self, conn: S, table: str) -> tuple[str, ...]:
        return tuple(str(r["name"]) for r in await conn.rows(self.COLUMNS, table=table))

    async def key(self, conn: S, table: str) -> tuple[str, ...]:
        return tuple(str(r["name"]) for r in await conn.rows(self.KEY, table=table))

    async def counted(self, conn: S) -> list[tuple[str, str]]:
        """The data tables numbered by an id counter, each with the column it numbers: those
        with a one-column primary key (seeded ones aside)."""
        found: list[tuple[str, str]] = []
        for table in TABLES:
            key = await self.key(conn, table)
            if len(key) == 1 and table not in SEEDED:
                found.append((table, key[0]))
        return found

    async def filled(self, conn: S) -> dict[str, int]:
        """See :meth:`occupied` (counted up to 1001: an emptiness check need not count all)."""
        present = await self.tables(conn)
        counts = {
            t: await _count(conn, t, 1001) for t in TABLES if t in present and t not in SEEDED
        }
        return {table: count for table, count in counts.items() if count}

    def check_tables(self, found: set[str]) -> None:
        """Refuse a database whose data tables are not exactly :data:`TABLES`: a table left
        out of a move would be lost without a word."""
        unknown, missing = sorted(found - set(TABLES)), sorted(set(TABLES) - found)
        if unknown or missing:
            parts = [f"unknown tables {', '.join(unknown)}"] if unknown else []
            parts += [f"missing tables {', '.join(missing)}"] if missing else []
            raise Unavailable(
                f"the {self.label} database's tables are not this hub's: {'; '.join(parts)}",
                code="schema_mismatch",
            )

    # what each engine does its own way

    @abstractmethod
    def connect(self, *, write: bool = False) -> AbstractAsyncContextManager[S]:
        """A session in autocommit; ``write`` to change the database (a new SQLite file is
        created). The engine's errors come out as :class:`Unavailable`."""

    @abstractmethod
    def migrator(self, conn: S) -> migrations.Migrator: ...

    @abstractmethod
    def reading(self, conn: S) -> AbstractAsyncContextManager[None]:
        """A read transaction that sees one state of the database throughout."""

    @abstractmethod
    def writing(self, conn: S) -> AbstractAsyncContextManager[None]:
        """The transaction an import loads in, with the search index brought up to date."""

    @abstractmethod
    def stream(self, conn: S, query: str) -> AsyncIterator[Sequence[Row]]:
        """The rows of ``query``, as tuples, in batches of :data:`BATCH`."""

    @abstractmethod
    async def insert(
        self, conn: S, table: str, columns: Sequence[str], rows: Sequence[Row]
    ) -> None:
        """Bulk insert, ids as given."""

    @abstractmethod
    async def advance(
        self, conn: S, table: str, column: str, largest: int, counter: int
    ) -> int | None:
        """Move a table's id counter past ``largest`` (its largest id now) and ``counter``
        (the source's); the next id it hands out (``None``: the table has none)."""


class Snapshot(Generic[S]):
    """Every data table as of one read transaction."""

    def __init__(self, db: Direct[S], conn: S, schema: int, tables: list[Table]) -> None:
        self._db = db
        self._conn = conn
        self.schema = schema
        self.tables = tables

    async def rows(self, table: Table) -> AsyncIterator[Sequence[Row]]:
        """The table's rows in batches, in primary-key order, columns as in ``table``."""
        key = await self._db.key(self._conn, table.name) or table.columns
        query = f"SELECT {_names(table.columns)} FROM {_name(table.name)} ORDER BY {_names(key)}"
        async for batch in self._db.stream(self._conn, query):
            yield batch

    async def counters(self) -> dict[str, int]:
        """The last id each table's id counter handed out, where the engine keeps one apart
        from the rows (SQLite's ``AUTOINCREMENT``, PostgreSQL's identity sequences)."""
        found: dict[str, int] = {}
        for table, column in await self._db.counted(self._conn):
            last = await self._conn.value(self._db.COUNTER, table=table, column=column)
            if last is not None:
                found[table] = int(last)
        return found


class Loader(Generic[S]):
    """Rows into one write transaction: committed only if every step succeeds."""

    def __init__(self, db: Direct[S], conn: S) -> None:
        self._db = db
        self._conn = conn

    async def occupied(self) -> dict[str, int]:
        """The data tables that hold rows (seeded ones aside), with their counts."""
        return await self._db.filled(self._conn)

    async def columns(self, table: str) -> tuple[str, ...]:
        """The table's columns in this database."""
        return await self._db.columns(self._conn, table)

    async def clear(self, table: str) -> None:
        """Delete a seeded table's rows, to be replaced."""
        await self._conn.run(_query(f"DELETE FROM {_name(table)}"))

    async def insert(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        """Insert rows, ids as given; a row the database refuses is ``import_refused``."""
        try:
            await self._db.insert(self._conn, table, columns, rows)
        except self._db.refused as error:
            raise InvalidInput(
                f"{self._db.label} refused a row of {table}: {_reason(error)}",
                code="import_refused",
            ) from None

    async def finish(self, counters: dict[str, int]) -> dict[str, int]:
        """Move every id counter past both the largest id loaded and ``counters`` (the
        source's); the next id each counter hands out."""
        following: dict[str, int] = {}
        for table, column in await self._db.counted(self._conn):
            top = _query(f"SELECT coalesce(max({_name(column)}), 0) FROM {_name(table)}")
            largest, counter = int(await self._conn.value(top)), counters.get(table, 0)
            after = await self._db.advance(self._conn, table, column, largest, counter)
            if after is not None:
                following[table] = after
        return following


class SqliteDirect(Direct[SqliteSession]):
    """A SQLite hub file."""

    engine: Engine = "sqlite"
    label = "SQLite"
    dialect = SQLITE
    refused = (sqlite3.DatabaseError,)
    # Neither SQLite's own tables, nor virtual tables and their shadow tables.
    TABLE_NAMES = Query(
        "SELECT name FROM sqlite_master AS t WHERE type = 'table' "
        "AND substr(name, 1, 7) <> 'sqlite_' AND NOT EXISTS ("
        "SELECT 1 FROM sqlite_master AS v WHERE v.type = 'table' "
        "AND v.sql LIKE 'CREATE VIRTUAL%' "
        "AND (t.name = v.name OR substr(t.name, 1, length(v.name) + 1) = v.name || '_'))"
    )
    COLUMNS = Query("SELECT name FROM pragma_table_info(:table) ORDER BY cid")
    KEY = Query("SELECT name FROM pragma_table_info(:table) WHERE pk > 0 ORDER BY pk")
    COUNTER = Query("SELECT seq FROM sqlite_sequence WHERE name = :table")
    AUTOINCREMENT = Query(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :table "
        "AND sql LIKE '%AUTOINCREMENT%'"
    )
    MOVE = Query("UPDATE sqlite_sequence SET seq = max(seq, :seq) WHERE name = :table")
    START = Query("INSERT INTO sqlite_sequence (name, seq) VALUES (:table, :seq)")
    FTS = "messages_fts"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.shown = str(path)
        self._existed = path.exists()

    def exists(self) -> bool:
        return self.path.exists()

    @contextlib.asynccontextmanager
    async def connect(self, *, write: bool = False) -> AsyncIterator[SqliteSession]:
        conn = self._open(write)
        try:
            with contextlib.closing(conn):
                yield SqliteSession(conn)
        except sqlite3.Error as error:  # locked, disk full, damaged…
            doing = "write" if write else "read"
            raise Unavailable(f"cannot {doing} {self.path}: {error}", code="bad_db") from None

    def _open(self, write: bool) -> sqlite3.Connection:
        if not write and not self.path.is_file():
            raise Unavailable(f"there is no database at {self.path}", code="bad_db")
        try:
            if write:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                if not self.path.exists():  # the database holds secrets' hashes: owner only
                    os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            # A reader is query-only rather than read-only: a read-only connection could not
            # remove the WAL files it makes when it is the last to close.
            conn = sqlite.connect(self.path, readonly=not write)
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                if write:
                    conn.execute("PRAGMA journal_mode = WAL")
            except BaseException:
                conn.close()
                raise
        except (OSError, sqlite3.DatabaseError) as error:
            raise Unavailable(
                f"cannot use {self.path} as the database: {error}", code="bad_db"
            ) from None
        return conn

    def migrator(self, conn: SqliteSession) -> migrations.Migrator:
        return sqlite.Migrating(conn.conn)

    @contextlib.asynccontextmanager
    async def reading(self, conn: SqliteSession) -> AsyncIterator[None]:
        conn.conn.execute("BEGIN")  # the first read takes the snapshot the rest sees
        try:
            yield
        finally:
            conn.conn.execute("ROLLBACK")

    @contextlib.asynccontextmanager
    async def writing(self, conn: SqliteSession) -> AsyncIterator[None]:
        db, fts = conn.conn, self.FTS
        db.execute("BEGIN IMMEDIATE")  # waits for a writer (busy_timeout), then fails
        try:
            triggers = db.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND sql LIKE ?",
                (f"%{fts}%",),
            ).fetchall()
            # Indexing row by row as they arrive costs more than one rebuild at the end.
            for name, _ in triggers:
                db.execute(f"DROP TRIGGER {_name(name)}")
            yield
            db.execute(f"INSERT INTO {fts} ({fts}) VALUES ('rebuild')")
            for _, sql in triggers:
                db.execute(sql)
            db.execute("COMMIT")
        except BaseException:
            sqlite.rollback(db)
            raise

    async def stream(self, conn: SqliteSession, query: str) -> AsyncIterator[Sequence[Row]]:
        cursor = conn.conn.cursor()
        cursor.row_factory = None  # plain tuples
        cursor.execute(query)
        while batch := cursor.fetchmany(BATCH):
            yield batch

    async def insert(
        self, conn: SqliteSession, table: str, columns: Sequence[str], rows: Sequence[Row]
    ) -> None:
        marks = ", ".join("?" * len(columns))
        conn.conn.executemany(
            f"INSERT INTO {_name(table)} ({_names(columns)}) VALUES ({marks})", rows
        )

    async def advance(
        self, conn: SqliteSession, table: str, column: str, largest: int, counter: int
    ) -> int:
        # SQLite already moved an AUTOINCREMENT counter to the largest id inserted; the
        # source's may be further on (rows deleted since), and is kept so no id comes back.
        # A table without one hands out the largest id + 1.
        if (
            counter
            and await conn.value(self.AUTOINCREMENT, table=table)
            and not await conn.run(self.MOVE, table=table, seq=counter)
        ):
            await conn.run(self.START, table=table, seq=counter)  # nothing counted yet
        return max(largest, int(await conn.value(self.COUNTER, table=table) or 0)) + 1

    async def discard(self) -> None:
        if self._existed:
            return
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.path}{suffix}")


class PostgresDirect(Direct[PostgresSession]):
    """A PostgreSQL hub database."""

    engine: Engine = "postgres"
    label = "PostgreSQL"
    dialect = POSTGRES
    refused = (psycopg.DataError, psycopg.IntegrityError)
    TABLE_NAMES = Query(
        "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
    )
    COLUMNS = Query(
        "SELECT attname AS name FROM pg_attribute WHERE attrelid = CAST(:table AS regclass) "
        "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
    )
    KEY = Query(
        "SELECT a.attname AS name FROM pg_index i "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
        "WHERE i.indrelid = CAST(:table AS regclass) AND i.indisprimary "
        "ORDER BY array_position(CAST(i.indkey AS smallint[]), a.attnum)"
    )
    SEQUENCE = "CAST(pg_get_serial_sequence(:table, :column) AS regclass)"
    COUNTER = Query(f"SELECT pg_sequence_last_value({SEQUENCE})")
    # setval(seq, 1, false) hands out 1 next; setval(seq, n, true) hands out n + 1.
    ADVANCE = Query(f"SELECT setval({SEQUENCE}, :value, :called)")

    def __init__(self, conninfo: str) -> None:
        parts = conninfo_to_dict(conninfo)
        parts.setdefault("connect_timeout", "10")
        parts.setdefault("application_name", "hubbub")
        self.conninfo = make_conninfo("", **parts)
        self.shown = postgres.describe(conninfo)

    @contextlib.asynccontextmanager
    async def connect(self, *, write: bool = False) -> AsyncIterator[PostgresSession]:
        try:
            conn = await psycopg.AsyncConnection.connect(
                self.conninfo, autocommit=True, row_factory=dict_row
            )
        except psycopg.OperationalError as error:
            raise Unavailable(
                f"cannot use {self.shown} as the database: {_reason(error)}", code="bad_db"
            ) from None
        # JSON columns travel as the text they hold, unparsed.
        conn.adapters.register_loader("json", TextLoader)
        conn.adapters.register_loader("jsonb", TextLoader)
        try:
            async with conn:
                yield PostgresSession(conn)
        except psycopg.OperationalError as error:
            raise postgres.unavailable(error, self.conninfo) from None
        except psycopg.Error as error:  # refused: privileges, a broken schema…
            raise Unavailable(f"cannot use {self.shown}: {_reason(error)}", code="bad_db") from None

    def migrator(self, conn: PostgresSession) -> migrations.Migrator:
        return postgres.Migrating(conn.conn)

    @contextlib.asynccontextmanager
    async def reading(self, conn: PostgresSession) -> AsyncIterator[None]:
        async with conn.conn.transaction():
            await conn.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield

    @contextlib.asynccontextmanager
    async def writing(self, conn: PostgresSession) -> AsyncIterator[None]:
        async with conn.conn.transaction():
            await conn.conn.execute("SET LOCAL statement_timeout = 0")
            # No hub process writes while the rows go in (nor draws an id from a sequence
            # that is about to move).
            await conn.conn.execute("SELECT pg_advisory_xact_lock(%s)", (postgres.LOCK_KEY,))
            yield
        await conn.conn.execute("ANALYZE")  # the planner's statistics, for the tables filled

    async def stream(self, conn: PostgresSession, query: str) -> AsyncIterator[Sequence[Row]]:
        async with conn.conn.cursor(name="hubbub_export", row_factory=tuple_row) as cursor:
            await cursor.execute(query)
            while batch := await cursor.fetchmany(BATCH):
                yield batch

    async def insert(
        self, conn: PostgresSession, table: str, columns: Sequence[str], rows: Sequence[Row]
    ) -> None:
        copy_in = f"COPY {_name(table)} ({_names(columns)}) FROM STDIN"
        async with conn.conn.cursor() as cursor, cursor.copy(copy_in) as copy:
            for row in rows:
                await copy.write_row(row)

    async def advance(
        self, conn: PostgresSession, table: str, column: str, largest: int, counter: int
    ) -> int | None:
        last = max(largest, counter)
        moved = await conn.value(
            self.ADVANCE, table=table, column=column, value=max(last, 1), called=last > 0
        )
        return None if moved is None else last + 1


async def _count(conn: Session, table: str, cap: int | None = None) -> int:
    """The table's rows (at most ``cap``)."""
    counted = _name(table) if cap is None else f"(SELECT 1 FROM {_name(table)} LIMIT {cap}) t"
    return int(await conn.value(_query(f"SELECT count(*) FROM {counted}")))


@functools.cache
def _query(sql: str) -> Query:
    """A statement over tables and columns named at run time, kept once rendered."""
    return Query(sql)


def _name(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _names(identifiers: Sequence[str]) -> str:
    return ", ".join(map(_name, identifiers))


def _reason(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
