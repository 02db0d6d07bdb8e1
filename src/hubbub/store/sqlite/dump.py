"""Direct access to a SQLite hub file for ``hubbub migrate``, ``export`` and ``import``
(:class:`hubbub.store.transfer.Direct`).

An export reads through its own read-only connection in one read transaction: in WAL mode
that is a snapshot, taken at its first read, while a hub goes on writing. An import writes in
one ``BEGIN IMMEDIATE`` transaction with the search index's triggers dropped, then rebuilds
the index once and puts the triggers back, all before the commit.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path

from hubbub.core.errors import InvalidInput, Unavailable
from hubbub.store import migrations
from hubbub.store.sqlite import engine, keys
from hubbub.store.transfer import (
    BATCH,
    BOOKKEEPING,
    SEEDED,
    TABLES,
    Engine,
    Row,
    SchemaState,
    Table,
    data_tables,
)

PACKAGE = "hubbub.store.sqlite"
FTS = "messages_fts"


def _name(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _tables(conn: sqlite3.Connection) -> set[str]:
    """The data tables: neither SQLite's own, nor virtual tables and their shadow tables,
    nor the migrations' bookkeeping."""
    rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    virtual = [name for name, sql in rows if (sql or "").upper().startswith("CREATE VIRTUAL")]
    return {
        name
        for name, _ in rows
        if not name.startswith("sqlite_")
        and name not in BOOKKEEPING
        and not any(name == v or name.startswith(v + "_") for v in virtual)
    }


def _columns(conn: sqlite3.Connection, table: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A table's columns, and its primary key's (``rowid`` when it has none)."""
    info = conn.execute(f"PRAGMA table_info({_name(table)})").fetchall()
    columns = tuple(str(row[1]) for row in info)
    key = tuple(str(row[1]) for row in sorted((r for r in info if r[5]), key=lambda r: r[5]))
    return columns, key or ("rowid",)


def _count(conn: sqlite3.Connection, table: str) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {_name(table)}").fetchone()[0])


class SqliteSnapshot:
    """Every data table as of one read transaction."""

    def __init__(self, conn: sqlite3.Connection, schema: int) -> None:
        self._conn = conn
        self.schema = schema
        data_tables(_tables(conn), "SQLite")
        self.tables = [Table(t, _columns(conn, t)[0], _count(conn, t)) for t in TABLES]

    async def rows(self, table: Table) -> AsyncIterator[Sequence[Row]]:
        key = ", ".join(map(_name, _columns(self._conn, table.name)[1]))
        cursor = self._conn.execute(
            f"SELECT {', '.join(map(_name, table.columns))} FROM {_name(table.name)} ORDER BY {key}"
        )
        while batch := cursor.fetchmany(BATCH):
            yield batch

    async def counters(self) -> dict[str, int]:
        found = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'"
        ).fetchone()
        if found is None:
            return {}
        rows = self._conn.execute("SELECT name, seq FROM sqlite_sequence").fetchall()
        return {str(name): int(seq) for name, seq in rows if name in TABLES}


class SqliteLoader:
    """Rows into one write transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def occupied(self) -> dict[str, int]:
        return _occupied(self._conn)

    async def columns(self, table: str) -> tuple[str, ...]:
        return _columns(self._conn, table)[0]

    async def clear(self, table: str) -> None:
        self._conn.execute(f"DELETE FROM {_name(table)}")

    async def insert(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        marks = ", ".join("?" * len(columns))
        try:
            self._conn.executemany(
                f"INSERT INTO {_name(table)} ({', '.join(map(_name, columns))}) VALUES ({marks})",
                rows,
            )
        except sqlite3.DatabaseError as error:
            raise InvalidInput(
                f"SQLite refused a row of {table}: {error}", code="import_refused"
            ) from None

    async def finish(self, counters: dict[str, int]) -> dict[str, int]:
        # SQLite already moved each AUTOINCREMENT counter to the largest id inserted; the
        # source's may be further on (rows deleted since), and is kept so no id comes back.
        counted = {
            name
            for name, sql in self._conn.execute("SELECT name, sql FROM sqlite_master")
            if name in TABLES and "AUTOINCREMENT" in (sql or "").upper()
        }
        for table, seq in counters.items():
            if table not in counted:
                continue
            moved = self._conn.execute(
                "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", (seq, table)
            )
            if moved.rowcount == 0:  # no row inserted: SQLite has not counted yet
                self._conn.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, seq)
                )
        self._conn.execute(f"INSERT INTO {FTS} ({FTS}) VALUES ('rebuild')")
        following: dict[str, int] = {}
        for table in TABLES:
            key = _columns(self._conn, table)[1]
            if len(key) != 1 or table in SEEDED:
                continue
            row = self._conn.execute(f"SELECT max({_name(key[0])}) FROM {_name(table)}").fetchone()
            seq = self._conn.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)
            ).fetchone()
            following[table] = max(int(row[0] or 0), int(seq[0]) if seq else 0) + 1
        return following


def _occupied(conn: sqlite3.Connection) -> dict[str, int]:
    present = _tables(conn)
    counts = {t: _count(conn, t) for t in TABLES if t in present and t not in SEEDED}
    return {table: count for table, count in counts.items() if count}


class SqliteDirect:
    """A SQLite hub file, reached directly."""

    engine: Engine = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.shown = str(path)
        self._existed = path.exists()

    def _known(self) -> list[migrations.Migration]:
        return migrations.load(PACKAGE)

    def _reader(self) -> sqlite3.Connection:
        """A read-only connection to the existing file (never creating it)."""
        if not self.path.is_file():
            raise Unavailable(f"there is no database at {self.path}", code="bad_db")
        try:
            # Read-write, but query-only: a read-only one could not remove the WAL files it
            # makes when it is the last to close.
            conn = engine.connect(self.path, readonly=True)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as error:
            raise Unavailable(
                f"cannot use {self.path} as the database: {error}", code="bad_db"
            ) from None
        conn.row_factory = None
        return conn

    async def schema(self) -> SchemaState:
        known = self._known()
        if not self.path.exists():
            return SchemaState(0, len(known), known)
        with contextlib.closing(self._reader()) as conn:
            applied = engine.applied_migrations(conn)
        return SchemaState(max(applied, default=0), len(known), migrations.pending(applied, known))

    async def migrate(
        self, on_apply: Callable[[migrations.Migration], None]
    ) -> list[migrations.Migration]:
        done: list[migrations.Migration] = []

        def applied(step: migrations.Migration) -> None:
            done.append(step)
            on_apply(step)

        with contextlib.closing(self._writer()) as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            engine.migrate(conn, on_apply=applied)
        return done

    async def occupied(self) -> dict[str, int]:
        if not self.path.exists():
            return {}
        with contextlib.closing(self._reader()) as conn:
            return _occupied(conn)

    async def namespaces(self) -> tuple[list[str], list[tuple[str, str]]]:
        if not self.path.exists():
            return [], []
        with self._failing("read"), contextlib.closing(self._reader()) as conn:
            if not {"keys", "agents"} <= _tables(conn):
                return [], []
            found = conn.execute("SELECT name, machine FROM agents WHERE kind = 'agent'")
            agents = [(str(name), str(machine)) for name, machine in found]
            return keys.machine_names(conn), agents

    @contextlib.contextmanager
    def _failing(self, doing: str) -> Iterator[None]:
        """SQLite's own errors (locked, disk full, damaged) as one clear error."""
        try:
            yield
        except sqlite3.Error as error:
            raise Unavailable(f"cannot {doing} {self.path}: {error}", code="bad_db") from None

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[SqliteSnapshot]:
        with self._failing("read"), contextlib.closing(self._reader()) as conn:
            conn.execute("BEGIN")
            try:
                # The first read starts the read transaction: everything after sees this state.
                known = self._known()
                migrations.require_current(engine.applied_migrations(conn), known)
                yield SqliteSnapshot(conn, len(known))
            finally:
                conn.execute("ROLLBACK")

    @contextlib.asynccontextmanager
    async def loader(self) -> AsyncIterator[SqliteLoader]:
        with self._failing("write"), contextlib.closing(self._writer()) as conn:
            conn.execute("BEGIN IMMEDIATE")  # waits for a writer (busy_timeout), then fails
            try:
                triggers = conn.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND sql LIKE ?",
                    (f"%{FTS}%",),
                ).fetchall()
                # Indexing row by row as they arrive costs more than one rebuild at the end.
                for name, _ in triggers:
                    conn.execute(f"DROP TRIGGER {_name(name)}")
                yield SqliteLoader(conn)
                for _, sql in triggers:
                    conn.execute(sql)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    async def discard(self) -> None:
        if self._existed:
            return
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.path}{suffix}")

    def _writer(self) -> sqlite3.Connection:
        """A read-write connection, creating the file (owner only) if needed."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not self.path.exists():  # the database holds secrets' hashes: owner only
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            conn = engine.connect(self.path)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except (OSError, sqlite3.DatabaseError) as error:
            raise Unavailable(
                f"cannot use {self.path} as the database: {error}", code="bad_db"
            ) from None
        conn.row_factory = None
        return conn
