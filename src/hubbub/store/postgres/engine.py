"""PostgreSQL engine: a pool of reader connections and, in each process, one writer that
group-commits under a cluster-wide write lock.

Writes are async functions queued to the writer, as on SQLite. It takes every write waiting,
runs them all in one transaction, commits once, and only then answers each caller; a failing
write rolls back alone (the batch is rerun with a savepoint around each write). Reads take a
connection from the pool, in autocommit mode: each statement sees the last committed state.

**The write lock.** Readers resume "after N": after an event's ``seq`` (the event stream),
after a message id (channel reads with ``after``), after an inbox item id. That is only safe
if ids become visible in the order they were assigned, so a reader that has seen N never
sees a smaller id appear later. SQLite gets that from its single writer. On PostgreSQL,
concurrent transactions draw ids from their sequences and then commit in any order, so every
write transaction first takes one transaction-scoped advisory lock (``LOCK_KEY``): ids are
drawn and committed by one transaction at a time across every hub process, and commit order
is id order. Taking it first, before any row is touched, rather than just before the events
are appended, also covers message and inbox ids, and means no writer ever holds a row lock
while it waits for another: writers cannot deadlock, and under READ COMMITTED they meet no
serialization failures (both are still retried, as is a connection lost before the commit).
The cost is that writes are serialised across processes, as SQLite's are; within a process,
group commit shares one lock, one transaction and one commit among every write waiting.

Each transaction that appended events also sends ``NOTIFY hubbub_events`` with its last
``seq`` (delivered only if it commits); :class:`hubbub.bus.postgres.PostgresBus` listens for
it in every process.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import orjson
import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import DictRow, dict_row, tuple_row
from psycopg.types.json import set_json_loads
from psycopg.types.string import TextLoader
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from pydantic import TypeAdapter

from hubbub.core.errors import InvalidInput, Unavailable
from hubbub.core.events import StoredEvent
from hubbub.core.telemetry import SECONDS, Buckets, WriterTelemetry
from hubbub.store import migrations
from hubbub.store.dialect import POSTGRES
from hubbub.store.sql import Query, Row, Session, T, insert_sql

Conn = psycopg.AsyncConnection[DictRow]
Job = tuple[Callable[..., Awaitable[Any]], tuple[Any, ...], asyncio.Future[Any]]
Outcome = tuple[asyncio.Future[Any], Any, BaseException | None]
Publish = Callable[[list[StoredEvent]], None]

LOCK_KEY = 0x6875_6262_0001  # the write lock (any fixed number; "hubb" and 1)
MIGRATION_LOCK_KEY = 0x6875_6262_0002  # held while one process migrates
CHANNEL = "hubbub_events"
RETRYABLE = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)

log = logging.getLogger("hubbub.store")


def describe(conninfo: str) -> str:
    """A database URL or DSN for messages: host, port and database, never the password."""
    try:
        parts = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "PostgreSQL (an unparseable URL)"
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    user = f"{parts['user']}@" if parts.get("user") else ""
    return f"postgresql://{user}{host}:{port}/{parts.get('dbname') or ''}"


def unavailable(error: BaseException, conninfo: str) -> Unavailable:
    """A connection failure as the one error a caller sees."""
    if isinstance(error, pg_errors.QueryCanceled):
        return Unavailable("the database took too long to answer", code="db_timeout")
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return Unavailable(
        f"cannot reach the database at {describe(conninfo)}: {reason}", code="db_unavailable"
    )


class Database:
    """The connections to one PostgreSQL database and the discipline for using them."""

    def __init__(
        self,
        conninfo: str,
        *,
        pool_min: int = 1,
        pool_max: int = 10,
        statement_timeout: float = 30.0,
        connect_timeout: float = 10.0,
        retry_seconds: float = 15.0,
        max_batch: int = 1000,
        migrate: bool = True,
    ) -> None:
        self._migrate = migrate
        parts = conninfo_to_dict(conninfo)
        parts.setdefault("connect_timeout", str(max(1, round(connect_timeout))))
        parts.setdefault("application_name", "hubbub")
        self.conninfo = make_conninfo("", **parts)
        self.shown = describe(conninfo)
        self._pool_min = pool_min
        self._pool_max = max(pool_min, pool_max)
        self._timeout_ms = int(statement_timeout * 1000)
        self._retry_seconds = retry_seconds
        self._max_batch = max_batch
        self._jobs: asyncio.Queue[Job | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._conn: Conn | None = None
        self._pool: AsyncConnectionPool[Conn] | None = None
        self._publish: Publish | None = None
        self._closed = False
        self.telemetry = WriterTelemetry(
            queued=self._jobs.qsize, lock_wait_seconds=Buckets(SECONDS), pool=self._pool_figures
        )

    def _pool_figures(self) -> dict[str, int]:
        if self._pool is None:
            return {}
        figures = self._pool.get_stats()
        return {
            "size": figures.get("pool_size", 0),
            "available": figures.get("pool_available", 0),
            "waiting": figures.get("requests_waiting", 0),
        }

    # connections

    async def _configure(self, conn: Conn) -> None:
        set_json_loads(orjson.loads, conn)
        await conn.execute(f"SET statement_timeout = {self._timeout_ms}")

    async def _connect_writer(self) -> Conn:
        conn = await Conn.connect(self.conninfo, autocommit=True, row_factory=dict_row)
        await self._configure(conn)
        # A writer that stops mid-transaction (a paused process) must not hold the write lock
        # for ever: the server ends such a session after a while.
        await conn.execute(
            f"SET idle_in_transaction_session_timeout = {max(self._timeout_ms * 2, 10_000)}"
        )
        return conn

    async def open(self, publish: Publish | None = None) -> None:
        """Connect, migrate (or check that no migration is needed) and start the writer.
        ``publish`` receives the events of every commit, on this event loop, before the
        writers are answered."""
        try:
            self._conn = await self._connect_writer()
            # A migration may build an index over a large table, or wait for another process
            # that does: no statement timeout meanwhile.
            await self._conn.execute("SET statement_timeout = 0")
            await (
                migrations.migrate(Migrating(self._conn))
                if self._migrate
                else migrations.check(PostgresSession(self._conn))
            )
            await self._conn.execute(f"SET statement_timeout = {self._timeout_ms}")
            # A read-only database (a standby, a read-only role) is found now, before the
            # hub serves, rather than by the first write.
            try:
                async with self._conn.transaction():
                    await migrations.probe(PostgresSession(self._conn))
            except psycopg.Error as error:
                if isinstance(error, psycopg.OperationalError):
                    raise
                await self._drop()
                raise Unavailable(
                    f"cannot write to {self.shown}: {_reason(error)}", code="bad_db"
                ) from None
            self._pool = AsyncConnectionPool(
                self.conninfo,
                min_size=self._pool_min,
                max_size=self._pool_max,
                kwargs={"autocommit": True, "row_factory": dict_row},
                configure=self._configure,
                timeout=max(self._timeout_ms / 1000, 1.0),
                open=False,
                name="hubbub",
            )
            await self._pool.open(wait=True, timeout=30)
        except (psycopg.OperationalError, PoolTimeout) as error:
            await self._drop()
            raise Unavailable(
                f"cannot use {self.shown} as the database: {_reason(error)}", code="bad_db"
            ) from None
        except BaseException:
            await self._drop()
            raise
        self._publish = publish
        self._writer = asyncio.create_task(self._write_loop(), name="hubbub-write")

    async def _drop(self) -> None:
        await self._reset_writer()
        if self._pool is not None:
            with contextlib.suppress(Exception):
                await self._pool.close()
            self._pool = None

    async def close(self) -> None:
        """Finish queued writes, then close every connection."""
        if self._closed:
            return
        self._closed = True
        if self._writer is not None:
            self._jobs.put_nowait(None)
            await self._writer
        await self._drop()

    # reads

    async def read(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``fn(conn, *args)`` on a pooled connection; a connection lost since its last
        use is replaced once."""
        if self._closed or self._pool is None:
            raise Unavailable("the store is closed", code="store_closed")
        for attempt in range(2):
            try:
                async with self._pool.connection() as conn:
                    return await fn(PostgresSession(conn), *args)
            except pg_errors.QueryCanceled as error:
                raise unavailable(error, self.conninfo) from None
            except psycopg.DataError as error:
                if _is_nul(error):
                    raise _nul() from None
                raise
            except (psycopg.OperationalError, PoolTimeout) as error:
                if attempt or isinstance(error, PoolTimeout):
                    raise unavailable(error, self.conninfo) from None
                await self._pool.check()  # drop every connection the server has closed
        raise AssertionError("unreachable")

    lookup = read

    # writes

    async def write(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``fn(conn, *args)`` in the writer's next transaction; return after its commit."""
        if self._closed:
            raise Unavailable("the store is closed", code="store_closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.put_nowait((fn, args, future))
        return await future

    async def _write_loop(self) -> None:
        while True:
            first = await self._jobs.get()
            if first is None:
                return
            batch: list[Job] = [first]
            stop = False
            while len(batch) < self._max_batch:
                try:
                    job = self._jobs.get_nowait()
                except asyncio.QueueEmpty:
                    break
                if job is None:
                    stop = True
                    break
                batch.append(job)
            try:
                await self._commit(batch)
            except Exception:  # a bug outside any job: answer, drop the connection, go on
                log.exception("the writer failed a batch of %d writes", len(batch))
                failure = Unavailable("the write failed; see the hub's log", code="commit_failed")
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(failure)
                await self._reset_writer()
            if stop:
                return

    async def _reset_writer(self) -> None:
        """Close the writer's connection, so the next batch starts on a fresh one."""
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None

    async def _commit(self, batch: list[Job]) -> None:
        """Run a batch until it commits, fails for good, or the database stays away longer
        than ``retry_seconds``; then publish its events and answer its callers."""
        started = time.perf_counter()
        deadline = time.monotonic() + self._retry_seconds
        delay = 0.05
        isolate = False
        while True:
            try:
                conn = await self._writer_conn()
                outcomes, committed = await self._run(conn, batch, isolate=isolate)
                self.telemetry.committed(len(batch), time.perf_counter() - started)
                break
            except _Retry:
                isolate = True
                continue
            except _Transient as transient:
                cause = transient.__cause__ or transient
                if time.monotonic() + delay > deadline:
                    failure = unavailable(cause, self.conninfo)
                    outcomes, committed = [(f, None, failure) for _, _, f in batch], []
                    self.telemetry.refused(len(batch))
                    break
                log.warning("write batch retried: %s", _reason(cause))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
            except Exception as error:  # outside any job (the write lock timed out…)
                refused = _translate(error, self.conninfo)
                outcomes, committed = [(f, None, refused) for _, _, f in batch], []
                self.telemetry.refused(len(batch))
                break
        if committed and self._publish is not None:
            try:
                self._publish(committed)
            except Exception:  # committed and in the log: the callers still hear
                log.exception("publishing %d committed events failed", len(committed))
        for future, result, failed in outcomes:
            if future.done():
                continue
            if failed is not None:
                future.set_exception(failed)
            else:
                future.set_result(result)

    async def _writer_conn(self) -> Conn:
        if self._conn is None or self._conn.closed or self._conn.broken:
            await self._reset_writer()
            try:
                self._conn = await self._connect_writer()
            except psycopg.OperationalError as error:
                raise _Transient from error
        return self._conn

    async def _run(
        self, conn: Conn, batch: list[Job], *, isolate: bool
    ) -> tuple[list[Outcome], list[StoredEvent]]:
        """Run a batch in one transaction under the write lock. Failures are rare, so the
        first run uses no savepoints; a failing job aborts it and the batch reruns with a
        savepoint per job, so that job fails alone."""
        outcomes: list[Outcome] = []
        committed: list[StoredEvent] = []
        try:
            # One round trip each to open (with the lock) and to close (with the notice).
            asked = time.perf_counter()
            await conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock({LOCK_KEY})")
            if self.telemetry.lock_wait_seconds is not None:
                self.telemetry.lock_wait_seconds.observe(time.perf_counter() - asked)
            session = PostgresSession(conn, writer=True)
            for fn, args, future in batch:
                if isolate:
                    await conn.execute("SAVEPOINT job")
                session.appended = []
                try:
                    result = await fn(session, *args)
                except Exception as exc:
                    if _lost(conn, exc):
                        raise
                    if not isolate:
                        raise _Retry from exc
                    await conn.execute("ROLLBACK TO SAVEPOINT job")
                    await conn.execute("RELEASE SAVEPOINT job")
                    outcomes.append((future, None, _translate(exc, self.conninfo)))
                    continue
                if isolate:
                    await conn.execute("RELEASE SAVEPOINT job")
                committed.extend(session.appended)
                outcomes.append((future, result, None))
        except _Retry:
            await _rollback(conn)
            raise
        except Exception as exc:
            await _rollback(conn)
            if _lost(conn, exc) or isinstance(exc, RETRYABLE):
                raise _Transient from exc
            raise
        notify = f"SELECT pg_notify('{CHANNEL}', '{committed[-1].seq}'); " if committed else ""
        try:
            await conn.execute(f"{notify}COMMIT")
        except psycopg.Error as exc:
            # The outcome of a commit cut short is unknown: the callers are told it failed
            # (a retry with an idempotency key is safe), and if it did commit, its events
            # still reach the bus, which reads them from the log.
            await _rollback(conn)
            failure = Unavailable(f"commit failed: {_reason(exc)}", code="commit_failed")
            return [(future, None, failure) for future, _, _ in outcomes], []
        return outcomes, committed


class PostgresSession:
    """:class:`hubbub.store.sql.Session` on a psycopg connection."""

    dialect = POSTGRES

    def __init__(self, conn: Conn, *, writer: bool = False) -> None:
        self.conn = conn
        self.appended: list[StoredEvent] | None = [] if writer else None

    async def rows(self, query: Query, /, **params: Any) -> Sequence[Row]:
        cursor = await self.conn.execute(query.sql(POSTGRES), params)
        return await cursor.fetchall()

    async def row(self, query: Query, /, **params: Any) -> Row | None:
        cursor = await self.conn.execute(query.sql(POSTGRES), params)
        return await cursor.fetchone()

    async def value(self, query: Query, /, **params: Any) -> Any:
        cursor = self.conn.cursor(row_factory=tuple_row)
        await cursor.execute(query.sql(POSTGRES), params)
        found = await cursor.fetchone()
        return None if found is None else found[0]

    async def run(self, query: Query, /, **params: Any) -> int:
        cursor = await self.conn.execute(query.sql(POSTGRES), params)
        return cursor.rowcount

    async def models(
        self, adapter: TypeAdapter[list[T]], query: Query, /, **params: Any
    ) -> list[T]:
        cursor = self.conn.cursor(row_factory=tuple_row)
        cursor.adapters.register_loader("json", TextLoader)  # parsed below, with the rest
        await cursor.execute(query.sql(POSTGRES), params)
        found = await cursor.fetchall()
        return adapter.validate_json("[" + ",".join(row[0] for row in found) + "]")

    async def insert(
        self,
        table: str,
        rows: Sequence[Mapping[str, Any]],
        *,
        returning: str | None = None,
        ignore_conflicts: bool = False,
    ) -> list[int]:
        """One statement for every row: a single row as plain ``VALUES``, several as
        ``unnest`` over one array per column, in order. (Arrays cost more to send and to
        plan, and most writes insert one row.)"""
        if not rows:
            return []
        columns = tuple(rows[0])
        types = _COLUMN_TYPES.get(table)
        if types is None:
            cursor = await self.conn.execute(
                "SELECT attname AS name, format_type(atttypid, atttypmod) AS type "
                "FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0",
                (table,),
            )
            types = _COLUMN_TYPES[table] = {r["name"]: r["type"] for r in await cursor.fetchall()}
        one = len(rows) == 1
        sql = _insert_sql(table, columns, one, returning, ignore_conflicts)
        params = rows[0] if one else {c: [row[c] for row in rows] for c in columns}
        cursor = await self.conn.execute(sql, params)
        if returning is None:
            return []
        # Rows are inserted, and numbered, in ordinality order.
        return sorted(row[returning] for row in await cursor.fetchall())


@functools.cache
def _insert_sql(
    table: str, columns: tuple[str, ...], one: bool, returning: str | None, ignore: bool
) -> str:
    """The insert of one row or of many into ``columns`` of ``table`` (known column types)."""
    types = _COLUMN_TYPES[table]
    names = ", ".join(columns)
    if one:
        source = "VALUES (" + ", ".join(f"%({c})s::{types[c]}" for c in columns) + ")"
    else:
        arrays = ", ".join(f"%({c})s::{types[c]}[]" for c in columns)
        source = (
            f"SELECT {names} FROM unnest({arrays}) "
            f"WITH ORDINALITY AS r ({names}, ordinality) ORDER BY ordinality"
        )
    return insert_sql(table, columns, source, returning, ignore)


_COLUMN_TYPES: dict[str, dict[str, str]] = {}


class _Retry(Exception):
    """A job failed in a batch run without savepoints: run the batch again, isolated."""


class _Transient(Exception):
    """The batch did not commit for a reason that may pass (connection lost, deadlock,
    serialization failure): run it again on a good connection."""


def _lost(conn: Conn, error: BaseException) -> bool:
    """True if ``error`` means the connection itself is gone."""
    return (
        conn.broken
        or conn.closed
        or (
            isinstance(error, psycopg.OperationalError)
            and not isinstance(error, pg_errors.QueryCanceled)
            and not isinstance(error, pg_errors.LockNotAvailable)
        )
    )


def _translate(error: Exception, conninfo: str) -> Exception:
    """A job's own failure as its caller should see it."""
    if isinstance(error, pg_errors.QueryCanceled):
        return unavailable(error, conninfo)
    if _is_nul(error):
        return _nul()
    return error


def _is_nul(error: BaseException) -> bool:
    """True for the one text PostgreSQL cannot store: with a NUL character (U+0000)."""
    return isinstance(error, psycopg.DataError) and "NUL" in str(error)


def _nul() -> InvalidInput:
    return InvalidInput("text may not contain the NUL character (U+0000)", code="invalid")


async def _rollback(conn: Conn) -> None:
    if not conn.broken and not conn.closed:
        with contextlib.suppress(psycopg.Error):
            await conn.execute("ROLLBACK")


def _reason(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class Migrating:
    """:class:`hubbub.store.migrations.Migrator` on PostgreSQL (a connection in autocommit):
    concurrent processes take turns under an advisory lock; each step is one transaction."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self.session: Session = PostgresSession(conn)

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        await self.conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        try:
            yield
        finally:
            await self.conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))

    def transaction(self) -> AbstractAsyncContextManager[object]:
        return self.conn.transaction()

    async def script(self, sql: str) -> None:
        await self.conn.execute(sql)  # a shipped file, whole: several statements
