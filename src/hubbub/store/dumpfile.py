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
Values are as stored: times in integer microseconds, JSON columns as their JSON text,
files' bytes as base64. An import refuses a file whose trailer is missing (truncated), whose
checksum or counts differ (damaged), or whose schema is not this build's, and commits nothing
unless it all checks.

A hub no longer takes text holding NUL (U+0000), which PostgreSQL cannot store; an export of
an older SQLite hub may still hold some. An import replaces each with U+FFFD, in text and in
JSON text alike, and says how many it replaced in which column (:attr:`Moved.replaced`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

import orjson

from hubbub import __version__
from hubbub.core import values
from hubbub.core.errors import Conflict, HubbubError, InvalidInput
from hubbub.store import transfer
from hubbub.store.migrations import Migration
from hubbub.store.transfer import SEEDED, TABLES, Conn, Direct, Row, Table

FORMAT = "hubbub-export"
VERSION = 1
GZIP_MAGIC = b"\x1f\x8b"
JSON_COLUMNS = {
    "agents": ("tags", "capabilities"),
    "messages": ("metadata", "mentions"),
    "tasks": ("labels", "result"),
    "integrations": ("scopes", "targets", "channels"),
    "events": ("payload",),
}
"""The columns that hold JSON text, by table, where ``\u0000`` escapes are NULs too."""
BINARY_COLUMNS = {"blob_chunks": ("data",)}
"""The columns that hold bytes (files' chunks), by table: base64 text in the file."""

Source = Iterable[bytes]
"""Where an import comes from: the lines of a file, of gzip, of stdin."""
Lines = Iterator[tuple[int, bytes]]  # a source's lines, numbered from 1


class Sink(Protocol):
    """Where an export goes: a file, gzip, stdout."""

    def write(self, data: bytes, /) -> object: ...


class Progress(Protocol):
    """Told how far a move has come (a progress bar, or nothing)."""

    def start(self, total: int) -> None: ...
    def advance(self, table: str, rows: int) -> None: ...


class _Silent:
    def start(self, total: int) -> None: ...
    def advance(self, table: str, rows: int) -> None: ...


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


async def export(db: Direct, out: Sink, progress: Progress | None = None) -> Moved:
    """Write every data table of ``db``, as one snapshot, to ``out``."""
    progress = progress or _Silent()
    digest = hashlib.sha256()

    def line(data: bytes) -> None:
        digest.update(data)
        out.write(data)

    async with db.snapshot() as (conn, schema, tables):
        header = {
            "format": FORMAT,
            "version": VERSION,
            "schema": schema,
            "hubbub": __version__,
            "engine": db.engine,
            "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "tables": [
                {"name": t.name, "columns": list(t.columns), "rows": t.rows} for t in tables
            ],
        }
        line(orjson.dumps(header) + b"\n")
        progress.start(sum(t.rows for t in tables))
        counts = dict.fromkeys(TABLES, 0)
        for table in tables:
            prefix = b'{"t":' + orjson.dumps(table.name) + b',"r":'
            binary = _binary(table.name, table.columns)
            async for batch in transfer.rows(conn, table):
                if binary:
                    batch = [_encoded(row, binary) for row in batch]
                try:
                    line(b"".join(prefix + orjson.dumps(row) + b"}\n" for row in batch))
                except TypeError as error:  # a value JSON cannot hold (SQLite bytes)
                    raise HubbubError(
                        f"cannot export a row of {table.name}: {error}", code="bad_value"
                    ) from None
                counts[table.name] += len(batch)
                progress.advance(table.name, len(batch))
        counters = await transfer.counters(conn)
    trailer = {"end": True, "counts": counts, "counters": counters, "sha256": digest.hexdigest()}
    out.write(orjson.dumps(trailer) + b"\n")
    return Moved(schema, counts)


def _binary(table: str, columns: tuple[str, ...]) -> list[int]:
    """The positions of ``table``'s byte columns among ``columns``."""
    return [columns.index(c) for c in BINARY_COLUMNS.get(table, ()) if c in columns]


def _encoded(row: Row, binary: list[int]) -> list[Any]:
    """A row with its bytes as base64 text."""
    found = list(row)
    for index in binary:
        found[index] = base64.b64encode(bytes(found[index])).decode()
    return found


def opened(raw: IO[bytes]) -> Source:
    """``raw``, or its decompressed content when it is gzip (by its first bytes)."""
    peek = getattr(raw, "peek", None)
    start = peek(2)[:2] if peek is not None else b""
    return gzip.GzipFile(fileobj=raw, mode="rb") if start == GZIP_MAGIC else raw


def _lines(source: Source) -> Lines:
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


def read_header(number: int, data: bytes, schema: int) -> list[Table]:
    """The header's tables, if it is a header this build can import at ``schema``."""
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
        tables = [Table(t["name"], tuple(t["columns"]), int(t["rows"])) for t in head["tables"]]
    except (KeyError, TypeError, ValueError):
        raise bad("the export header's table list is damaged") from None
    if [t.name for t in tables] != list(TABLES):
        raise bad("the export's tables are not this schema's")
    return tables


async def load(
    db: Direct,
    source: Source,
    progress: Progress | None = None,
    *,
    on_migrate: Callable[[Migration], None] | None = None,
) -> Moved:
    """Import an export into ``db``, which must hold no data. Everything is checked before
    anything is committed; a new SQLite file is removed again if the import fails."""
    lines, progress = _lines(source), progress or _Silent()
    number, first = next(lines, (1, b""))
    schema = (await db.schema()).latest
    tables = read_header(number, first, schema)
    if db.exists():
        async with db.connect() as conn:
            _refuse_data(db, await transfer.filled(conn))
    try:
        await db.migrate(on_migrate or (lambda step: None))
        async with db.connect(write=True) as conn, transfer.loading(conn):
            _refuse_data(db, await transfer.filled(conn))
            for t in tables:
                if set(await transfer.columns(conn, t.name)) != set(t.columns):
                    raise bad(f"the export's columns of {t.name} are not this schema's")
            for seeded in SEEDED:
                await transfer.clear(conn, seeded)
            counts, counters, replaced = await _fill(conn, tables, first, lines, progress)
            following = await transfer.finish(conn, counters)
    except BaseException:
        await db.discard()
        raise
    return Moved(schema, counts, following, replaced)


def _refuse_data(db: Direct, found: dict[str, int]) -> None:
    if found:
        held = ", ".join(f"{t} ({'1000+' if n > 1000 else n})" for t, n in found.items())
        raise Conflict(
            f"{db.shown} already holds data: {held}. Import only into an empty database",
            code="db_not_empty",
        )


def verify(source: Source, schema: int) -> Moved:
    """Read a whole export at ``schema`` and check it as an import would — header, every row,
    checksum, counts, id counters — inserting nothing."""
    lines = _lines(source)
    number, first = next(lines, (1, b""))
    tables = read_header(number, first, schema)
    counts, _, _ = asyncio.run(_fill(None, tables, first, lines, _Silent()))
    return Moved(schema, counts)


async def _fill(
    conn: Conn | None, tables: list[Table], first: bytes, lines: Lines, progress: Progress
) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """Every row, checked and inserted (only checked, without ``conn``); the rows of each
    table, the source's id counters, and the NULs replaced."""
    digest = hashlib.sha256(first)
    expected = {t.name: t.rows for t in tables}
    columns = {t.name: t.columns for t in tables}
    progress.start(sum(expected.values()))
    counts = dict.fromkeys(TABLES, 0)
    table = TABLES[0]  # the table being loaded
    batch: list[Row] = []
    trailer: Any = None
    refused: list[InvalidInput] = []
    replaced: dict[str, int] = {}

    async def flush() -> None:
        if batch and not refused and conn is not None:
            try:
                await transfer.insert(conn, table, columns[table], batch)
            except InvalidInput as error:
                # Read on: if the file is damaged, that is the cause to report.
                refused.append(error)
            progress.advance(table, len(batch))
        batch.clear()

    for number, data in lines:
        item = _parse(number, data)
        if isinstance(item, dict) and item.get("end") is True:
            trailer = item
            break
        digest.update(data)
        if not isinstance(item, dict) or not isinstance(item.get("r"), list):
            raise bad(f"line {number} is not a row")
        name = item.get("t")
        if name != table:
            if name not in TABLES[TABLES.index(table) + 1 :]:
                raise bad(f"line {number}: a row of {name!r} out of the header's order")
            await flush()
            table = str(name)
        row = item["r"]
        if len(row) != len(columns[table]):
            raise bad(f"line {number}: {len(row)} values for {len(columns[table])} columns")
        for index, value in enumerate(row):  # each NUL in text becomes U+FFFD, counted
            if isinstance(value, str) and (values.NUL in value or "\\u0000" in value):
                column = columns[table][index]
                json = column in JSON_COLUMNS.get(table, ())
                row[index], count = values.replace_nul(value, json=json)
                if count:
                    replaced[f"{table}.{column}"] = replaced.get(f"{table}.{column}", 0) + count
        for index in _binary(table, columns[table]):
            try:
                row[index] = base64.b64decode(row[index], validate=True)
            except (TypeError, ValueError):
                raise bad(f"line {number}: {table}'s bytes are not base64") from None
        batch.append(row)
        counts[table] += 1
        if len(batch) >= transfer.batch_size(table):
            await flush()
    await flush()
    if trailer is None:
        raise bad("the file is truncated: it ends before its end line")
    if next(lines, None) is not None:
        raise bad("the file goes on after its end line")
    if trailer.get("sha256") != digest.hexdigest():
        raise bad("the file is damaged: its checksum does not match its content")
    if trailer.get("counts") != expected or counts != expected:
        wrong = [f"{t}: {n} rows, not {expected[t]}" for t, n in counts.items() if n != expected[t]]
        raise bad(f"the file is damaged: its row counts differ ({'; '.join(wrong) or 'end line'})")
    counters = trailer.get("counters")
    if not isinstance(counters, dict) or not all(type(v) is int for v in counters.values()):
        raise bad("the end line's id counters are damaged")
    if refused:
        raise refused[0]
    return counts, counters, replaced


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
    except BaseException as error:
        partial.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise InvalidInput(f"cannot write {path}: {error.strerror}", code="bad_file") from None
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
