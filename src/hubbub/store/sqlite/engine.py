"""SQLite engine: one writer thread that group-commits, and a pool of reader threads.

Writes are functions queued to the writer. It takes every write waiting, runs them all in one
transaction, commits once, and only then answers each caller: no caller hears "done" before
its data is committed, and a failing write rolls back alone (the batch is rerun with a
savepoint around each write). Readers each own a connection; WAL lets them read while the
writer writes. Point lookups by key (a channel by name, a key by digest) run inline on the
event loop's own connection: they take microseconds, less than a hop to a thread would.

**The writer never dies.** When the database itself refuses a batch — the disk is full, an
I/O error, the file became read-only, another process held the write lock past
``lock_timeout`` — every caller of that batch is answered at once with a ``503`` that says
why, and the writer goes on to the next batch, which succeeds as soon as the cause is gone.
Before each commit the writer checks that the file at ``path`` is still the one it opened: a
database deleted or replaced under a running hub is refused loudly rather than written into
an unlinked file and lost at the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import queue
import sqlite3
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import TypeAdapter

from hubbub.core.errors import Unavailable
from hubbub.core.events import StoredEvent
from hubbub.core.telemetry import WriterTelemetry
from hubbub.store import migrations
from hubbub.store.dialect import SQLITE
from hubbub.store.sql import Query, Row, Session, T, insert_sql, run_inline

Job = tuple[Callable[..., Any], tuple[Any, ...], asyncio.Future[Any], asyncio.AbstractEventLoop]
Outcome = tuple[asyncio.Future[Any], Any, BaseException | None]
Publish = Callable[[list[StoredEvent]], None]

_STOP = object()
SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")

# SQLite's primary result codes that blame the database rather than the write: the batch is
# refused as a whole, and the same batch would fail again until the cause is gone.
_LOCKED = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED
_REFUSED = frozenset({7, 8, 10, 11, 13, 14, 15, 26})
# SQLITE_NOMEM, READONLY, IOERR, CORRUPT, FULL, CANTOPEN, PROTOCOL, NOTADB

log = logging.getLogger("hubbub.store")


def connect(
    path: Path,
    *,
    synchronous: str = "FULL",
    readonly: bool = False,
    lock_timeout: float = 10.0,
) -> sqlite3.Connection:
    """A connection with the hub's pragmas, in autocommit mode (transactions are explicit).
    A lock held by another process is waited for up to ``lock_timeout`` seconds. A reader
    (``readonly``) never creates the file: opened while the database is gone, it would read
    an empty one of its own for good."""
    conn = sqlite3.connect(
        f"file:{quote(str(path))}?mode=rw" if readonly else path,
        uri=readonly,
        isolation_level=None,
        check_same_thread=False,
        cached_statements=512,
    )
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {max(1, round(lock_timeout * 1000))}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA cache_size = -32000")
    conn.execute("PRAGMA mmap_size = 268435456")
    if readonly:
        conn.execute("PRAGMA query_only = ON")
    return conn


class Migrating:
    """:class:`hubbub.store.migrations.Migrator` on SQLite: each step in a ``BEGIN IMMEDIATE``
    transaction (which is also how processes take turns), its script split into statements."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.session: Session = SqliteSession(conn)

    def turn(self) -> contextlib.nullcontext[None]:
        return contextlib.nullcontext()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.conn.execute("COMMIT")
        except BaseException:
            rollback(self.conn)
            raise

    async def script(self, sql: str) -> None:
        for statement in _statements(sql):
            self.conn.execute(statement)


def rollback(conn: sqlite3.Connection) -> None:
    """End the open transaction, if any. After a failed statement or ``COMMIT`` SQLite may
    already have rolled back, and ``ROLLBACK`` itself can fail on a sick database: neither
    may stop the caller from answering."""
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


def result_code(error: BaseException) -> int | None:
    """SQLite's primary result code for ``error``, if it came from SQLite."""
    code = getattr(error, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def refusal(error: BaseException, lock_timeout: float, *, read: bool = False) -> Unavailable | None:
    """What the callers of a batch (or a ``read``) hear when the database, not their own
    statement, is at fault; ``None`` when ``error`` is the statement's own failure."""
    code = result_code(error)
    if code in _LOCKED:
        return Unavailable(
            f"another process has held the database's lock for over {lock_timeout:g} s; try again",
            code="db_locked",
        )
    if code in _REFUSED and read:
        return Unavailable(f"the database cannot be read: {error}", code="db_unavailable")
    if code in _REFUSED:
        return Unavailable(f"the database refused the write: {error}", code="commit_failed")
    return None


def identity(path: Path) -> tuple[int, int] | None:
    """The file at ``path`` (device and inode), or ``None`` when there is none."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino


def _statements(script: str) -> list[str]:
    """Split a script into complete statements (triggers hold inner semicolons)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(
        ln.strip().startswith("--") or not ln.strip() for ln in buffer.splitlines()
    ):
        raise ValueError(f"incomplete SQL statement: {buffer.strip()[:80]}")
    return statements


class Database:
    """The connections to one SQLite file and the discipline for using them."""

    def __init__(
        self,
        path: Path,
        *,
        synchronous: str = "FULL",
        readers: int = 4,
        max_batch: int = 1000,
        migrate: bool = True,
        lock_timeout: float = 10.0,
    ) -> None:
        if synchronous.upper() not in SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {SYNCHRONOUS}")
        self.path = path
        self._migrate = migrate
        self.synchronous = synchronous.upper()
        self.lock_timeout = lock_timeout
        self._max_batch = max_batch
        self._jobs: queue.SimpleQueue[Job | object] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._readers = ThreadPoolExecutor(readers, thread_name_prefix="hubbub-read")
        self._local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._inline: sqlite3.Connection | None = None
        self._publish: Publish | None = None
        self._publish_loop: asyncio.AbstractEventLoop | None = None
        self._identity: tuple[int, int] | None = None
        self._claimed: int | None = None
        self._closed = False
        self.fault: Unavailable | None = None
        """Why the last batch was refused, until a batch commits again."""
        self.telemetry = WriterTelemetry(queued=self._jobs.qsize)

    def _connect(self, *, readonly: bool = False) -> sqlite3.Connection:
        return connect(
            self.path,
            synchronous=self.synchronous,
            readonly=readonly,
            lock_timeout=self.lock_timeout,
        )

    async def open(self, publish: Publish | None = None) -> None:
        """Create the file if needed, migrate it (or check that it needs no migration), prove
        that it takes writes, and start the writer. ``publish`` receives the events of every
        commit, on the calling event loop, before writers are answered."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            conn = self._open_writer()
        except (OSError, sqlite3.DatabaseError) as error:
            self._release()
            raise Unavailable(
                f"cannot use {self.path} as the database: {error}", code="bad_db"
            ) from None
        except BaseException:
            self._release()
            raise
        self._identity = identity(self.path)
        if publish is not None:
            self._publish = publish
            self._publish_loop = asyncio.get_running_loop()
        self._inline = self._connect(readonly=True)
        self._writer = threading.Thread(
            target=self._write_loop, args=(conn,), name="hubbub-write", daemon=True
        )
        self._writer.start()

    def _open_writer(self) -> sqlite3.Connection:
        if not self._migrate and not self.path.exists():
            migrations.require_current({}, migrations.shipped(SQLITE))
        if not self.path.exists():  # the database holds secrets' hashes: owner only
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._claim()
        conn = self._connect()
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"cannot switch it to WAL mode (it stays {mode})")
            run_inline(
                migrations.migrate(Migrating(conn))
                if self._migrate
                else migrations.check(SqliteSession(conn))
            )
            # A read-only file, a full disk or a foreign lock is found now, before the hub
            # serves, rather than by the first write.
            conn.execute("BEGIN IMMEDIATE")
            run_inline(migrations.probe(SqliteSession(conn)))
            conn.execute("COMMIT")
        except BaseException:
            rollback(conn)
            conn.close()
            raise
        return conn

    def _claim(self) -> None:
        """Hold an exclusive ``flock`` on the file while this process serves it: a second hub
        on the same file would write alongside this one unseen by its streams, since events
        reach only the process that committed them. On Linux ``flock`` and the ``fcntl``
        byte-range locks SQLite takes never interact, so the ``sqlite3`` shell and
        ``hubbub export`` work as before; elsewhere the two may, and nothing is claimed."""
        if sys.platform != "linux":
            return
        handle = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            raise Unavailable(
                f"another hub is serving {self.path}: one process serves a SQLite database "
                "(use PostgreSQL for several)",
                code="db_in_use",
            ) from None
        self._claimed = handle

    def _release(self) -> None:
        if self._claimed is not None:
            os.close(self._claimed)
            self._claimed = None

    async def close(self) -> None:
        """Finish queued writes, then close every connection (waiting off the event loop,
        which answers the writes)."""
        await asyncio.to_thread(self._close)

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._writer is not None:
            self._jobs.put(_STOP)
            self._writer.join()
        self._readers.shutdown(wait=True)
        if self._inline is not None:
            self._inline.close()
        with self._lock:
            for conn in self._reader_conns:
                conn.close()
            self._reader_conns.clear()
        self._release()

    async def lookup(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a point lookup ``fn(session, *args)`` inline, on the event loop's own
        connection; keep these to indexed single rows."""
        if self._closed or self._inline is None:
            raise Unavailable("the store is closed", code="store_closed")
        return self._reading(fn, self._inline, args)

    async def read(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(session, *args)`` on a reader connection in the pool."""
        if self._closed:
            raise Unavailable("the store is closed", code="store_closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._run_read, fn, args)

    def _run_read(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = self._connect(readonly=True)
            except sqlite3.Error as error:
                raise Unavailable(
                    f"the database {self.path} cannot be opened: {error}", code="db_unavailable"
                ) from None
            self._local.conn = conn
            with self._lock:
                self._reader_conns.append(conn)
        return self._reading(fn, conn, args)

    def _reading(
        self, fn: Callable[..., Any], conn: sqlite3.Connection, args: tuple[Any, ...]
    ) -> Any:
        """``fn(session, *args)``; the database's own trouble is a 503, anything else a bug."""
        try:
            return run_inline(fn(SqliteSession(conn), *args))
        except sqlite3.Error as error:
            refused = refusal(error, self.lock_timeout, read=True)
            if refused is None:
                raise
            raise refused from error

    async def write(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(session, *args)`` in the writer's next transaction; return after its
        commit."""
        if self._closed:
            raise Unavailable("the store is closed", code="store_closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._jobs.put((fn, args, future, loop))
        return await future

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        try:
            while True:
                first = self._jobs.get()
                if first is _STOP:
                    return
                batch: list[Job] = [first]  # type: ignore[list-item]
                stop = False
                while len(batch) < self._max_batch:
                    try:
                        job = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if job is _STOP:
                        stop = True
                        break
                    batch.append(job)  # type: ignore[arg-type]
                try:
                    self._commit(conn, batch)
                except BaseException:  # a bug outside any job: answer, and keep writing
                    log.exception("the writer failed a batch of %d writes", len(batch))
                    rollback(conn)
                    failure = Unavailable(
                        "the write failed; see the hub's log", code="commit_failed"
                    )
                    self._answer(batch, [(f, None, failure) for _, _, f, _ in batch], [])
                if stop:
                    return
        finally:
            conn.close()

    def _run(
        self, conn: sqlite3.Connection, batch: list[Job], *, isolate: bool
    ) -> tuple[list[Outcome], list[StoredEvent]]:
        """Run a batch in one transaction. Failures are rare, so the first run uses no
        savepoints; a failing job aborts it and the batch reruns with a savepoint per job,
        so that job fails alone. :class:`_Refused` when the database refuses the batch."""
        outcomes: list[Outcome] = []
        committed: list[StoredEvent] = []
        self._execute(conn, "BEGIN IMMEDIATE")
        session = SqliteSession(conn, writer=True)
        for fn, args, future, _loop in batch:
            if isolate:
                self._execute(conn, "SAVEPOINT job")
            session.appended = []
            try:
                result = run_inline(fn(session, *args))
            except BaseException as exc:
                refused = refusal(exc, self.lock_timeout)
                if refused is not None:
                    raise _Refused(refused) from exc
                if not isolate:
                    raise _Retry from exc
                self._execute(conn, "ROLLBACK TO job")
                self._execute(conn, "RELEASE job")
                outcomes.append((future, None, exc))
                continue
            if isolate:
                self._execute(conn, "RELEASE job")
            committed.extend(session.appended)
            outcomes.append((future, result, None))
        self._check_file()
        self._execute(conn, "COMMIT")
        return outcomes, committed

    def _execute(self, conn: sqlite3.Connection, statement: str) -> None:
        """Run a transaction-control statement; its failure refuses the whole batch."""
        try:
            conn.execute(statement)
        except sqlite3.Error as error:
            raise _Refused(
                refusal(error, self.lock_timeout)
                or Unavailable(f"the database refused the write: {error}", code="commit_failed")
            ) from error

    def _check_file(self) -> None:
        """Refuse to commit into a database file that was deleted or replaced: the commit
        would land in a file nobody will open again."""
        now = identity(self.path)
        if now != self._identity:
            what = "deleted" if now is None else "replaced by another file"
            raise _Refused(
                Unavailable(
                    f"the database file {self.path} was {what} while the hub was running; "
                    "writes are refused until the hub is restarted on the right file",
                    code="db_replaced",
                )
            )

    def _commit(self, conn: sqlite3.Connection, batch: list[Job]) -> None:
        started = time.perf_counter()
        try:
            try:
                outcomes, committed = self._run(conn, batch, isolate=False)
            except _Retry:
                rollback(conn)
                outcomes, committed = self._run(conn, batch, isolate=True)
        except _Refused as refused:
            rollback(conn)
            self._failed(refused.error)
            outcomes, committed = [(f, None, refused.error) for _, _, f, _ in batch], []
            self.telemetry.refused(len(batch))
        else:
            self._recovered()
            self.telemetry.committed(len(batch), time.perf_counter() - started)
        self._answer(batch, outcomes, committed)

    def _failed(self, error: Unavailable) -> None:
        """Note a refused batch; say so loudly when the trouble starts or changes."""
        if self.fault is None or self.fault.detail != error.detail:
            log.error("writes to %s are failing: %s", self.path, error.detail)
        self.fault = error

    def _recovered(self) -> None:
        if self.fault is not None:
            log.warning("writes to %s succeed again", self.path)
            self.fault = None

    def _answer(
        self, batch: list[Job], outcomes: list[Outcome], committed: list[StoredEvent]
    ) -> None:
        """Hand each caller its outcome on its own loop, after publishing the events."""
        by_loop: dict[asyncio.AbstractEventLoop, list[Outcome]] = {}
        for (_, _, _, loop), outcome in zip(batch, outcomes, strict=True):
            by_loop.setdefault(loop, []).append(outcome)
        if committed and self._publish_loop is not None:
            by_loop.setdefault(self._publish_loop, [])
        for loop, answers in by_loop.items():
            publish = self._publish if loop is self._publish_loop and committed else None
            with contextlib.suppress(RuntimeError):  # a closed loop has nobody waiting
                loop.call_soon_threadsafe(_answer, answers, publish, committed)


class SqliteSession:
    """:class:`hubbub.store.sql.Session` on a SQLite connection. Its methods never suspend:
    the store's coroutines run on it inline (:func:`hubbub.store.sql.run_inline`)."""

    dialect = SQLITE

    def __init__(self, conn: sqlite3.Connection, *, writer: bool = False) -> None:
        self.conn = conn
        self.appended: list[StoredEvent] | None = [] if writer else None

    async def rows(self, query: Query, /, **params: Any) -> Sequence[Row]:
        return self.conn.execute(query.sql(SQLITE), params).fetchall()

    async def row(self, query: Query, /, **params: Any) -> Row | None:
        return self.conn.execute(query.sql(SQLITE), params).fetchone()  # type: ignore[no-any-return]

    async def value(self, query: Query, /, **params: Any) -> Any:
        found = self.conn.execute(query.sql(SQLITE), params).fetchone()
        return None if found is None else found[0]

    async def run(self, query: Query, /, **params: Any) -> int:
        return self.conn.execute(query.sql(SQLITE), params).rowcount

    async def models(
        self, adapter: TypeAdapter[list[T]], query: Query, /, **params: Any
    ) -> list[T]:
        found = self.conn.execute(query.sql(SQLITE), params)
        return adapter.validate_json("[" + ",".join(row[0] for row in found) + "]")

    async def insert(
        self,
        table: str,
        rows: Sequence[Mapping[str, Any]],
        *,
        returning: str | None = None,
        ignore_conflicts: bool = False,
    ) -> list[int]:
        if not rows:
            return []
        columns = tuple(rows[0])
        values = f"VALUES ({', '.join(f':{c}' for c in columns)})"
        sql = insert_sql(table, columns, values, returning, ignore_conflicts)
        if returning is None:
            self.conn.executemany(sql, rows)
            return []
        return [self.conn.execute(sql, row).fetchone()[0] for row in rows]


class _Retry(Exception):
    """A job failed in a batch run without savepoints: run the batch again, isolated."""


class _Refused(Exception):
    """The database refused the batch as a whole; every caller hears ``error``."""

    def __init__(self, error: Unavailable) -> None:
        super().__init__(error.detail)
        self.error = error


def _answer(outcomes: list[Outcome], publish: Publish | None, events: list[StoredEvent]) -> None:
    if publish is not None:
        try:
            publish(events)
        except Exception:  # the events are committed and in the log: the callers still hear
            log.exception("publishing %d committed events failed", len(events))
    for future, result, error in outcomes:
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
