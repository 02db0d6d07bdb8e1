"""Direct access to a PostgreSQL hub database for ``hubbub migrate``, ``export`` and
``import`` (:class:`hubbub.store.transfer.Direct`).

An export reads in one ``REPEATABLE READ READ ONLY`` transaction, a snapshot of the moment
it starts while hub processes go on writing, through a server-side cursor per table. An
import writes with ``COPY`` in one transaction that first takes the hubs' write lock, moves
each identity sequence past the largest id loaded, and commits only if all of it succeeded;
the search index is an expression index, which the rows keep current as they arrive.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import DictRow, dict_row, tuple_row
from psycopg.types.string import TextLoader

from hubbub.core.errors import InvalidInput, Unavailable
from hubbub.store import migrations
from hubbub.store.postgres import engine, keys
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

PACKAGE = "hubbub.store.postgres"
Conn = psycopg.AsyncConnection[DictRow]

_TABLES = """
    SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
      AND c.relname <> ALL(%s)
"""
_COLUMNS = """
    SELECT a.attname AS name FROM pg_attribute a
    WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY a.attnum
"""
_KEY = """
    SELECT a.attname AS name FROM pg_index i
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
    WHERE i.indrelid = %s::regclass AND i.indisprimary
    ORDER BY array_position(i.indkey::smallint[], a.attnum)
"""
# Run without parameters (its % signs are format()'s).
_IDENTITIES = """
    SELECT c.relname AS name, a.attname AS column,
           pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname) AS seq
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND a.attidentity <> '' AND a.attnum > 0
      AND NOT a.attisdropped
"""


def _table(name: str) -> sql.Identifier:
    return sql.Identifier(name)


async def _all(conn: Conn, query: str, *args: Any) -> list[DictRow]:
    cursor = await conn.execute(query, args or None)
    return await cursor.fetchall()


async def _table_names(conn: Conn) -> list[str]:
    return [row["name"] for row in await _all(conn, _TABLES, sorted(BOOKKEEPING))]


async def _columns(conn: Conn, table: str) -> tuple[str, ...]:
    return tuple(row["name"] for row in await _all(conn, _COLUMNS, table))


async def _count(conn: Conn, table: str, cap: int | None = None) -> int:
    """The table's rows (at most ``cap``: an emptiness check need not count them all)."""
    inner = sql.SQL("SELECT 1 FROM {}").format(_table(table))
    if cap is not None:
        inner = sql.SQL("{} LIMIT {}").format(inner, sql.Literal(cap))
    cursor = await conn.execute(sql.SQL("SELECT count(*) AS n FROM ({}) t").format(inner))
    found = await cursor.fetchone()
    return int(found["n"]) if found else 0


async def _occupied(conn: Conn) -> dict[str, int]:
    present = set(await _table_names(conn))
    counts = {t: await _count(conn, t, 1001) for t in TABLES if t in present and t not in SEEDED}
    return {table: count for table, count in counts.items() if count}


def _reason(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _refused(table: str, error: psycopg.Error) -> InvalidInput:
    return InvalidInput(
        f"PostgreSQL refused a row of {table}: {_reason(error)}", code="import_refused"
    )


class PostgresSnapshot:
    """Every data table as of one repeatable-read transaction."""

    def __init__(self, conn: Conn, schema: int, tables: list[Table]) -> None:
        self._conn = conn
        self.schema = schema
        self.tables = tables

    async def rows(self, table: Table) -> AsyncIterator[Sequence[Row]]:
        key = [row["name"] for row in await _all(self._conn, _KEY, table.name)]
        query = sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
            sql.SQL(", ").join(map(sql.Identifier, table.columns)),
            _table(table.name),
            sql.SQL(", ").join(map(sql.Identifier, key or table.columns)),
        )
        async with self._conn.cursor(name="hubbub_export", row_factory=tuple_row) as cursor:
            await cursor.execute(query)
            while batch := await cursor.fetchmany(BATCH):
                yield batch

    async def counters(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for row in await _all(self._conn, _IDENTITIES):
            cursor = await self._conn.execute(
                "SELECT pg_sequence_last_value(%s::regclass) AS last", (row["seq"],)
            )
            last = await cursor.fetchone()
            if row["name"] in TABLES and last and last["last"] is not None:
                found[row["name"]] = int(last["last"])
        return found


class PostgresLoader:
    """Rows into one write transaction, under the hubs' write lock."""

    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def occupied(self) -> dict[str, int]:
        return await _occupied(self._conn)

    async def columns(self, table: str) -> tuple[str, ...]:
        return await _columns(self._conn, table)

    async def clear(self, table: str) -> None:
        await self._conn.execute(sql.SQL("DELETE FROM {}").format(_table(table)))

    async def insert(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        query = sql.SQL("COPY {} ({}) FROM STDIN").format(
            _table(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        try:
            async with self._conn.cursor() as cursor, cursor.copy(query) as copy:
                for row in rows:
                    await copy.write_row(row)
        except (psycopg.DataError, psycopg.IntegrityError) as error:
            raise _refused(table, error) from None

    async def finish(self, counters: dict[str, int]) -> dict[str, int]:
        following: dict[str, int] = {}
        for row in await _all(self._conn, _IDENTITIES):
            if row["name"] not in TABLES:
                continue
            largest = sql.SQL("SELECT coalesce(max({}), 0) AS n FROM {}").format(
                sql.Identifier(row["column"]), _table(row["name"])
            )
            found = await (await self._conn.execute(largest)).fetchone()
            last = max(int(found["n"]) if found else 0, counters.get(row["name"], 0))
            # setval(seq, 1, false) hands out 1 next; setval(seq, n, true) hands out n + 1.
            await self._conn.execute(
                "SELECT setval(%s::regclass, %s, %s)", (row["seq"], max(last, 1), last > 0)
            )
            following[row["name"]] = last + 1
        return following


class PostgresDirect:
    """A PostgreSQL hub database, reached directly."""

    engine: Engine = "postgres"

    def __init__(self, conninfo: str) -> None:
        parts = conninfo_to_dict(conninfo)
        parts.setdefault("connect_timeout", "10")
        parts.setdefault("application_name", "hubbub")
        self.conninfo = make_conninfo("", **parts)
        self.shown = engine.describe(conninfo)

    @contextlib.asynccontextmanager
    async def _connect(self) -> AsyncIterator[Conn]:
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
                yield conn
        except psycopg.OperationalError as error:
            raise engine.unavailable(error, self.conninfo) from None
        except psycopg.Error as error:  # refused: privileges, a broken schema…
            raise Unavailable(f"cannot use {self.shown}: {_reason(error)}", code="bad_db") from None

    async def schema(self) -> SchemaState:
        known = migrations.load(PACKAGE)
        async with self._connect() as conn:
            applied = await engine.applied_migrations(conn)
        return SchemaState(max(applied, default=0), len(known), migrations.pending(applied, known))

    async def migrate(
        self, on_apply: Callable[[migrations.Migration], None]
    ) -> list[migrations.Migration]:
        done: list[migrations.Migration] = []

        def applied(step: migrations.Migration) -> None:
            done.append(step)
            on_apply(step)

        async with self._connect() as conn:
            await engine.migrate(conn, on_apply=applied)
        return done

    async def occupied(self) -> dict[str, int]:
        async with self._connect() as conn:
            return await _occupied(conn)

    async def namespaces(self) -> tuple[list[str], list[tuple[str, str]]]:
        async with self._connect() as conn:
            found = await _all(
                conn,
                "SELECT to_regclass('keys') IS NOT NULL AND to_regclass('agents') IS NOT NULL "
                "AS ok",
            )
            if not found[0]["ok"]:
                return [], []
            rows = await _all(conn, "SELECT name, machine FROM agents WHERE kind = 'agent'")
            agents = [(str(row["name"]), str(row["machine"])) for row in rows]
            return await keys.machine_names(conn), agents

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[PostgresSnapshot]:
        async with self._connect() as conn, conn.transaction():
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            known = migrations.load(PACKAGE)
            migrations.require_current(await engine.applied_migrations(conn), known)
            data_tables(set(await _table_names(conn)), "PostgreSQL")
            tables = [Table(t, await _columns(conn, t), await _count(conn, t)) for t in TABLES]
            yield PostgresSnapshot(conn, len(known), tables)

    @contextlib.asynccontextmanager
    async def loader(self) -> AsyncIterator[PostgresLoader]:
        async with self._connect() as conn:
            async with conn.transaction():
                await conn.execute("SET LOCAL statement_timeout = 0")
                # No hub process writes while the rows go in (nor draws an id from a sequence
                # that is about to move).
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (engine.LOCK_KEY,))
                yield PostgresLoader(conn)
            # The planner's statistics, for the tables just filled.
            await conn.execute("ANALYZE")

    async def discard(self) -> None:
        return None
