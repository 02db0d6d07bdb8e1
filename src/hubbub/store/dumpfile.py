"""The export file: a whole hub as JSON Lines, and the two moves over it.

```
{"format":"hubbub-export","version":1,"schema":5,"hubbub":"0.1.0","engine":"sqlite",
 "created_at":"2026-11-22T14:00:00.000000Z","tables":[{"name":"keys","columns":[…],"rows":3},…]}
{"t":"keys","r":[1,"admin",null,…]}
…
{"end":true,"counts":{"keys":3,…},"counters":{"messages":120,…},"sha256":"…"}
```

The header names every table with its columns and row count; each row line holds one row's
values in those columns' order, every table's rows together and in header order; the trailer
repeats the counts, carries the source's id counters and the SHA-256 of every line before it.
Values are as stored: times in integer microseconds, JSON columns as their JSON text. An
import refuses a file whose trailer is missing (truncated), whose checksum or counts differ
(damaged), or whose schema is not this build's, and commits nothing unless it all checks.

A hub no longer takes text holding NUL (U+0000), which PostgreSQL cannot store; an export of
an older SQLite hub may still hold some. An import replaces each with U+FFFD, in text and in
JSON text alike, and says how many it replaced in which column (:attr:`Moved.replaced`).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

import orjson

from hubbub import __version__
from hubbub.core import values
from hubbub.core.errors import Conflict, HubbubError, InvalidInput
from hubbub.store.migrations import Migration
from hubbub.store.transfer import BATCH, SEEDED, TABLES, Row

if TYPE_CHECKING:
    from hubbub.store.dump import Direct

FORMAT = "hubbub-export"
VERSION = 1
GZIP_MAGIC = b"\x1f\x8b"
JSON_COLUMNS = frozenset(
    {
        ("agents", "tags"),
        ("agents", "capabilities"),
        ("messages", "metadata"),
        ("messages", "mentions"),
        ("tasks", "labels"),
        ("tasks", "result"),
        ("integrations", "scopes"),
        ("integrations", "targets"),
        ("integrations", "channels"),
        ("events", "payload"),
    }
)
"""The columns that hold JSON text, where ``\u0000`` escapes are NULs too."""


class Sink(Protocol):
    """Where an export goes: a file, gzip, stdout."""

    def write(self, data: bytes, /) -> object: ...


Source = Iterable[bytes]
"""Where an import comes from: the lines of a file, of gzip, of stdin."""


class Progress(Protocol):
    """Told how far a move has come (a progress bar, or nothing)."""

    def start(self, total: int) -> None: ...

    def advance(self, table: str, rows: int) -> None: ...


class _Silent:
    def start(self, total: int) -> None:
        pass

    def advance(self, table: str, rows: int) -> None:
        pass


@dataclass(frozen=True, slots=True)
class Moved:
    """What a move carried."""

    schema: int
    counts: dict[str, int]
    following: dict[str, int] = field(default_factory=dict)
    """After an import: the next id each id counter hands out."""
    replaced: dict[str, int] = field(default_factory=dict)
    """After an import: how many NULs became U+FFFD, by ``table.column``."""

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


def bad(detail: str) -> InvalidInput:
    """The error for a file that is not a sound export."""
    return InvalidInput(detail, code="bad_export")


# export


async def export(db: Direct[Any], out: Sink, progress: Progress | None = None) -> Moved:
    """Write every data table of ``db``, as one snapshot, to ``out``."""
    progress = progress or _Silent()
    digest = hashlib.sha256()

    def line(data: bytes) -> None:
        digest.update(data)
        out.write(data)

    async with db.snapshot() as snap:
        header = {
            "format": FORMAT,
            "version": VERSION,
            "schema": snap.schema,
            "hubbub": __version__,
            "engine": db.engine,
            "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "tables": [
                {"name": t.name, "columns": list(t.columns), "rows": t.rows} for t in snap.tables
            ],
        }
        line(orjson.dumps(header) + b"\n")
        progress.start(sum(t.rows for t in snap.tables))
        counts: dict[str, int] = {}
        for table in snap.tables:
            prefix = b'{"t":' + orjson.dumps(table.name) + b',"r":'
            written = 0
            async for batch in snap.rows(table):
                try:
                    line(b"".join(prefix + orjson.dumps(row) + b"}\n" for row in batch))
                except TypeError as error:  # a value JSON cannot hold (SQLite bytes)
                    raise HubbubError(
                        f"cannot export a row of {table.name}: {error}", code="bad_value"
                    ) from None
                written += len(batch)
                progress.advance(table.name, len(batch))
            counts[table.name] = written
        counters = await snap.counters()
    trailer = {"end": True, "counts": counts, "counters": counters, "sha256": digest.hexdigest()}
    out.write(orjson.dumps(trailer) + b"\n")
    return Moved(snap.schema, counts)


# import


def opened(raw: IO[bytes]) -> Source:
    """``raw``, or its decompressed content when it is gzip (by its first bytes)."""
    peek = getattr(raw, "peek", None)
    start = peek(2)[:2] if peek is not None else b""
    return gzip.GzipFile(fileobj=raw, mode="rb") if start == GZIP_MAGIC else raw


def _lines(source: Source) -> Iterator[tuple[int, bytes]]:
    """Numbered lines; a damaged or truncated compressed stream is a bad export."""
    number = 0
    try:
        for number, data in enumerate(source, start=1):
            yield number, data
    except (EOFError, gzip.BadGzipFile, OSError) as error:
        raise bad(f"the file cannot be read after line {number}: {error}") from None


def _parse(number: int, data: bytes) -> Any:
    if not data.endswith(b"\n"):
        raise bad(f"the file is truncated: line {number} is cut short")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise bad(f"line {number} is not JSON: the file is damaged") from None


@dataclass(slots=True)
class Header:
    """An export file's first line, checked."""

    schema: int
    engine: str
    tables: list[tuple[str, tuple[str, ...], int]]


def read_header(number: int, data: bytes, schema: int) -> Header:
    """The header, if it is one this build can import at ``schema``."""
    head = _parse(number, data) if data else None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise bad("not a Hubbub export (its first line is not an export header)")
    if head.get("version") != VERSION:
        raise bad(f"export format {head.get('version')!r} is not this build's ({VERSION})")
    if head.get("schema") != schema:
        raise InvalidInput(
            f"the export is at schema {head.get('schema')!r} (Hubbub {head.get('hubbub')}), "
            f"this hub at {schema}: export again from a database migrated by this version "
            "('hubbub migrate', then 'hubbub export')",
            code="export_schema_mismatch",
        )
    try:
        tables = [(t["name"], tuple(t["columns"]), int(t["rows"])) for t in head["tables"]]
    except (KeyError, TypeError, ValueError):
        raise bad("the export header's table list is damaged") from None
    if [name for name, _, _ in tables] != list(TABLES):
        raise bad("the export's tables are not this schema's")
    return Header(schema, str(head.get("engine")), tables)


async def load(
    db: Direct[Any],
    source: Source,
    progress: Progress | None = None,
    *,
    on_migrate: Callable[[Migration], None] | None = None,
) -> Moved:
    """Import an export into ``db``, which must hold no data. Everything is checked before
    anything is committed; a new SQLite file is removed again if the import fails."""
    progress = progress or _Silent()
    lines = _lines(source)
    number, first = next(lines, (1, b""))
    state = await db.schema()
    header = read_header(number, first, state.latest)
    found = await db.occupied()
    if found:
        raise _not_empty(db, found)
    try:
        await db.migrate(on_migrate or (lambda step: None))
        return await _fill(db, header, first, lines, progress)
    except BaseException:
        await db.discard()
        raise


def _not_empty(db: Direct[Any], found: dict[str, int]) -> Conflict:
    held = ", ".join(f"{t} ({'1000+' if n > 1000 else n})" for t, n in found.items())
    return Conflict(
        f"{db.shown} already holds data: {held}. Import only into an empty database",
        code="db_not_empty",
    )


async def _fill(
    db: Direct[Any],
    header: Header,
    first: bytes,
    lines: Iterator[tuple[int, bytes]],
    progress: Progress,
) -> Moved:
    digest = hashlib.sha256(first)
    expected = {name: rows for name, _, rows in header.tables}
    columns = {name: cols for name, cols, _ in header.tables}
    order = [name for name, _, _ in header.tables]
    progress.start(sum(expected.values()))
    counts = dict.fromkeys(order, 0)
    async with db.loader() as loader:
        found = await loader.occupied()
        if found:
            raise _not_empty(db, found)
        for name in order:
            if set(await loader.columns(name)) != set(columns[name]):
                raise bad(f"the export's columns of {name} are not this schema's")
        for name in SEEDED:
            await loader.clear(name)
        at = 0  # the index in ``order`` of the table being loaded
        batch: list[Row] = []
        trailer: Any = None
        refused: list[InvalidInput] = []
        replaced: dict[str, int] = {}

        async def flush() -> None:
            if batch and not refused:
                try:
                    await loader.insert(order[at], columns[order[at]], batch)
                except InvalidInput as error:
                    # Read on: if the file is damaged, that is the cause to report.
                    refused.append(error)
                progress.advance(order[at], len(batch))
            batch.clear()

        for number, data in lines:
            item = _parse(number, data)
            if isinstance(item, dict) and item.get("end") is True:
                trailer = item
                break
            digest.update(data)
            if not isinstance(item, dict) or not isinstance(item.get("r"), list):
                raise bad(f"line {number} is not a row")
            table = item.get("t")
            if table != order[at]:
                if table not in order[at + 1 :]:
                    raise bad(f"line {number}: a row of {table!r} out of the header's order")
                await flush()
                at = order.index(table)
            row = item["r"]
            if len(row) != len(columns[table]):
                raise bad(f"line {number}: {len(row)} values for {len(columns[table])} columns")
            batch.append(_without_nul(table, columns[table], row, replaced))
            counts[table] += 1
            if len(batch) >= BATCH:
                await flush()
        await flush()
        _check_end(trailer, lines, digest.hexdigest(), counts, expected)
        if refused:
            raise refused[0]
        following = await loader.finish(dict(trailer["counters"]))
    return Moved(header.schema, counts, following, replaced)


def _without_nul(
    table: str, columns: tuple[str, ...], row: list[Any], replaced: dict[str, int]
) -> list[Any]:
    """``row`` with each NUL in its text replaced by U+FFFD, counted into ``replaced``."""
    for index, value in enumerate(row):
        if isinstance(value, str) and (values.NUL in value or "\\u0000" in value):
            json = (table, columns[index]) in JSON_COLUMNS
            row[index], count = values.replace_nul(value, json=json)
            if count:
                where = f"{table}.{columns[index]}"
                replaced[where] = replaced.get(where, 0) + count
    return row


def _check_end(
    trailer: Any,
    lines: Iterator[tuple[int, bytes]],
    digest: str,
    counts: dict[str, int],
    expected: dict[str, int],
) -> None:
    if trailer is None:
        raise bad("the file is truncated: it ends before its end line")
    if next(lines, None) is not None:
        raise bad("the file goes on after its end line")
    if trailer.get("sha256") != digest:
        raise bad("the file is damaged: its checksum does not match its content")
    if trailer.get("counts") != expected or counts != expected:
        wrong = [f"{t}: {n} rows, not {expected[t]}" for t, n in counts.items() if n != expected[t]]
        raise bad(f"the file is damaged: its row counts differ ({'; '.join(wrong) or 'end line'})")
    counters = trailer.get("counters")
    if not isinstance(counters, dict) or not all(type(v) is int for v in counters.values()):
        raise bad("the end line's id counters are damaged")


# the file


@contextlib.contextmanager
def created(path: Path) -> Iterator[Sink]:
    """A new export file at ``path``, readable by its owner only (it holds key digests and
    webhook secrets), gzip-compressed if the name ends in ``.gz``. It is written under a
    temporary name and takes ``path``'s place only once complete."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        handle = os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
    except OSError as error:
        raise InvalidInput(f"cannot write {path}: {error.strerror}", code="bad_file") from None
    try:
        with handle:
            if path.name.endswith(".gz"):
                with gzip.GzipFile(
                    filename=path.name[:-3], mode="wb", fileobj=handle, compresslevel=3
                ) as packed:
                    yield packed
            else:
                yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise InvalidInput(f"cannot write {path}: {error.strerror}", code="bad_file") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def reading(path: Path) -> Iterator[Source]:
    """An export file to import (decompressed if it is gzip)."""
    try:
        handle = path.open("rb")
    except OSError as error:
        raise InvalidInput(f"cannot read {path}: {error.strerror}", code="bad_file") from None
    with handle:
        yield opened(handle)
