"""Online backups of a hub's database while it serves, each checked once written.

SQLite: one step of SQLite's backup API from a query-only reader. The copy is the snapshot
that reader sees; in WAL mode the hub's writer goes on committing beside it (a reader never
holds the writer up), and the copy holds everything committed before the step began. The
copy is written beside its destination under a temporary name, readable by its owner only,
checked (``PRAGMA integrity_check`` and its schema version), synced, and only then moved into
place. PostgreSQL: the export (one REPEATABLE READ snapshot), read back and checked whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hubbub.core.errors import HubbubError, InvalidInput, Unavailable
from hubbub.store import dumpfile, transfer
from hubbub.store.sqlite import engine as sqlite

Progress = Callable[[int, int], None]
"""Called with (bytes written so far, bytes expected) while a copy is written."""
POLL_SECONDS = 0.2


@dataclass(frozen=True, slots=True)
class Backup:
    """A backup written and checked."""

    path: Path
    bytes: int
    seconds: float
    schema: int
    rows: int | None
    """Rows carried (an export's count; a SQLite copy is checked page by page instead)."""


def backup(db: str, target: Path, progress: Progress | None = None) -> Backup:
    """Copy the database ``db`` names to ``target`` (which must not exist) and check the copy."""
    if target.exists():
        raise InvalidInput(
            f"{target} exists: a backup never overwrites a file", code="bad_backup_path"
        )
    if not target.parent.is_dir():
        raise InvalidInput(f"no folder {target.parent} to write into", code="bad_backup_path")
    source = transfer.open_direct(db)
    started = time.monotonic()
    if source.postgres:
        schema, rows = _export(source, target)
    else:
        schema, rows = _copy(source.path, target, progress or (lambda done, total: None)), None
    return Backup(target, target.stat().st_size, time.monotonic() - started, schema, rows)


def _copy(path: Path, target: Path, progress: Progress) -> int:
    if not path.is_file():
        raise Unavailable(f"there is no database at {path}", code="bad_db")
    partial = target.with_name(f".{target.name}.partial")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        source = sqlite.connect(path, readonly=True)
        try:
            expected = _size(source)
            copy = sqlite3.connect(partial, isolation_level=None)
            try:
                copy.execute("PRAGMA synchronous = FULL")
                watch = _Watch(partial, expected, progress)
                watch.start()
                try:
                    source.backup(copy, pages=-1)  # one step: one snapshot
                finally:
                    watch.stop()
                schema = _check(copy)
            finally:
                copy.close()
        finally:
            source.close()
        _sync(partial)
        partial.replace(target)
        _sync(target.parent)
    except sqlite3.Error as error:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise Unavailable(f"the backup of {path} failed: {error}", code="backup_failed") from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise
    progress(target.stat().st_size, target.stat().st_size)
    return schema


def _size(conn: sqlite3.Connection) -> int:
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    return int(pages) * int(conn.execute("PRAGMA page_size").fetchone()[0])


def _check(copy: sqlite3.Connection) -> int:
    """The copy's schema version, once SQLite finds every page and index of it sound."""
    found = [row[0] for row in copy.execute("PRAGMA integrity_check")]
    if found != ["ok"]:
        raise HubbubError(
            f"the copy failed its check: {'; '.join(found[:3])}", code="backup_failed"
        )
    row = copy.execute("SELECT max(version) FROM schema_migrations").fetchone()
    if row is None or row[0] is None:
        raise HubbubError("the copy holds no schema: is it a hub's database?", code="backup_failed")
    return int(row[0])


def _sync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class _Watch(threading.Thread):
    """Reports the copy's size while SQLite writes it (the step itself reports only its end)."""

    def __init__(self, path: Path, expected: int, progress: Progress) -> None:
        super().__init__(daemon=True)
        self._path = path
        self._expected = expected
        self._progress = progress
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(POLL_SECONDS):
            with contextlib.suppress(OSError):
                self._progress(self._path.stat().st_size, self._expected)

    def stop(self) -> None:
        self._done.set()
        self.join()


def _export(source: transfer.Direct, target: Path) -> tuple[int, int]:
    """PostgreSQL: the export, written, then read back and checked line by line."""
    with dumpfile.created(target) as out:
        moved = asyncio.run(dumpfile.export(source, out))
    try:
        with dumpfile.reading(target) as read:
            checked = dumpfile.verify(read, moved.schema)
        if checked.counts != moved.counts:
            raise HubbubError("the export read back differs from it", code="backup_failed")
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return moved.schema, moved.rows
