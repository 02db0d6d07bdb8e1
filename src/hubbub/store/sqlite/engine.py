"""SQLite engine: one writer thread that group-commits, and a pool of reader threads.

Writes are functions queued to the writer. It takes every write waiting, runs them all in one
transaction, commits once, and only then answers each caller: no caller hears "done" before
its data is committed, and a failing write rolls back alone (the batch is rerun with a
savepoint around each write). Readers each
own a connection; WAL lets them read while the writer writes. Point lookups by key (a
channel by name, a key by digest) run inline on the event loop's own connection: they take
microseconds, less than a hop to a thread would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from hubbub.core.errors import Unavailable
from hubbub.core.events import StoredEvent
from hubbub.store import migrations
from hubbub.store.sqlite.events import LogConnection

T = TypeVar("T")
Job = tuple[Callable[..., Any], tuple[Any, ...], asyncio.Future[Any], asyncio.AbstractEventLoop]
Outcome = tuple[asyncio.Future[Any], Any, BaseException | None]
Publish = Callable[[list[StoredEvent]], None]

_STOP = object()
SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


def connect(
    path: Path,
    *,
    synchronous: str = "FULL",
    readonly: bool = False,
    factory: type[sqlite3.Connection] = sqlite3.Connection,
) -> sqlite3.Connection:
    """A connection with the hub's pragmas, in autocommit mode (transactions are explicit)."""
    conn = sqlite3.connect(
        path,
        isolation_level=None,
        check_same_thread=False,
        cached_statements=512,
        factory=factory,
    )
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA cache_size = -32000")
    conn.execute("PRAGMA mmap_size = 268435456")
    if readonly:
        conn.execute("PRAGMA query_only = ON")
    return conn


def applied_migrations(conn: sqlite3.Connection) -> dict[int, str]:
    """The migrations applied to the database (version: checksum); none without a schema."""
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if found is None:
        return {}
    rows = conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
    return {int(row[0]): str(row[1]) for row in rows}


def check(conn: sqlite3.Connection) -> int:
    """The schema version, if the database is at this build's; else ``schema_too_old`` (or
    what :func:`migrate` refuses). For a hub started without migrating."""
    known = migrations.load("hubbub.store.sqlite")
    migrations.require_current(applied_migrations(conn), known)
    return len(known)


def migrate(
    conn: sqlite3.Connection, *, on_apply: Callable[[migrations.Migration], None] | None = None
) -> int:
    """Apply pending migrations (``on_apply`` hears of each once committed); return the schema
    version. Refuses a database that is newer than this build or whose applied migrations
    were changed."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
        "name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at INTEGER NOT NULL)"
    )
    applied = applied_migrations(conn)
    known = migrations.load("hubbub.store.sqlite")
    for step in migrations.pending(applied, known):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(step.sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?, ?)",
                (step.version, step.name, step.checksum, time.time_ns() // 1000),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if on_apply is not None:
            on_apply(step)
    return len(known)


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
    ) -> None:
        if synchronous.upper() not in SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {SYNCHRONOUS}")
        self.path = path
        self._migrate = migrate
        self.synchronous = synchronous.upper()
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
        self._closed = False
        self.batches = 0
        self.batched_writes = 0

    def open(self, publish: Publish | None = None) -> None:
        """Create the file if needed, migrate it (or check that it needs no migration) and
        start the writer. ``publish`` receives the events of every commit, on the calling
        event loop, before writers are answered."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            conn = self._open_writer()
        except (OSError, sqlite3.DatabaseError) as error:
            raise Unavailable(
                f"cannot use {self.path} as the database: {error}", code="bad_db"
            ) from None
        if publish is not None:
            self._publish = publish
            self._publish_loop = asyncio.get_running_loop()
        self._inline = connect(self.path, synchronous=self.synchronous, readonly=True)
        self._writer = threading.Thread(
            target=self._write_loop, args=(conn,), name="hubbub-write", daemon=True
        )
        self._writer.start()

    def _open_writer(self) -> LogConnection:
        if not self._migrate and not self.path.exists():
            migrations.require_current({}, migrations.load("hubbub.store.sqlite"))
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self.path.exists():  # the database holds secrets' hashes: owner only
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        conn = connect(self.path, synchronous=self.synchronous, factory=LogConnection)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            if self._migrate:
                migrate(conn)
            else:
                check(conn)
        except BaseException:
            conn.close()
            raise
        assert isinstance(conn, LogConnection)
        return conn

    def close(self) -> None:
        """Finish queued writes, then close every connection."""
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

    def lookup(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a point lookup ``fn(conn, *args)`` inline; keep these to indexed single rows."""
        if self._closed or self._inline is None:
            raise Unavailable("the store is closed", code="store_closed")
        return fn(self._inline, *args)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` on a reader connection in the pool."""
        if self._closed:
            raise Unavailable("the store is closed", code="store_closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._run_read, fn, args)

    def _run_read(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, synchronous=self.synchronous, readonly=True)
            self._local.conn = conn
            with self._lock:
                self._reader_conns.append(conn)
        return fn(conn, *args)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` in the writer's next transaction; return after its commit."""
        if self._closed:
            raise Unavailable("the store is closed", code="store_closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put((fn, args, future, loop))
        return await future

    def _write_loop(self, conn: LogConnection) -> None:
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
                self._commit(conn, batch)
                if stop:
                    return
        finally:
            conn.close()

    def _run(
        self, conn: LogConnection, batch: list[Job], *, isolate: bool
    ) -> tuple[list[Outcome], list[StoredEvent]]:
        """Run a batch in one transaction. Failures are rare, so the first run uses no
        savepoints; a failing job aborts it and the batch reruns with a savepoint per job,
        so that job fails alone."""
        outcomes: list[Outcome] = []
        committed: list[StoredEvent] = []
        conn.execute("BEGIN IMMEDIATE")
        for fn, args, future, _loop in batch:
            if isolate:
                conn.execute("SAVEPOINT job")
            conn.appended = []
            try:
                result = fn(conn, *args)
            except BaseException as exc:
                if not isolate:
                    conn.execute("ROLLBACK")
                    raise _Retry from exc
                conn.execute("ROLLBACK TO job")
                conn.execute("RELEASE job")
                outcomes.append((future, None, exc))
                continue
            if isolate:
                conn.execute("RELEASE job")
            committed.extend(conn.appended)
            outcomes.append((future, result, None))
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            failure = Unavailable(f"commit failed: {exc}", code="commit_failed")
            return [(future, None, failure) for future, _, _ in outcomes], []
        return outcomes, committed

    def _commit(self, conn: LogConnection, batch: list[Job]) -> None:
        try:
            outcomes, committed = self._run(conn, batch, isolate=False)
        except _Retry:
            outcomes, committed = self._run(conn, batch, isolate=True)
        self.batches += 1
        self.batched_writes += len(batch)
        by_loop: dict[asyncio.AbstractEventLoop, list[Outcome]] = {}
        for (_, _, _, loop), outcome in zip(batch, outcomes, strict=True):
            by_loop.setdefault(loop, []).append(outcome)
        if committed and self._publish_loop is not None:
            by_loop.setdefault(self._publish_loop, [])
        for loop, answers in by_loop.items():
            publish = self._publish if loop is self._publish_loop and committed else None
            with contextlib.suppress(RuntimeError):  # a closed loop has nobody waiting
                loop.call_soon_threadsafe(_answer, answers, publish, committed)


class _Retry(Exception):
    """A job failed in a batch run without savepoints: run the batch again, isolated."""


def _answer(outcomes: list[Outcome], publish: Publish | None, events: list[StoredEvent]) -> None:
    if publish is not None:
        publish(events)
    for future, result, error in outcomes:
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
