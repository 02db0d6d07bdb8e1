"""``hubbub export``, ``hubbub import``, ``hubbub migrate`` and ``hubbub backup``: a hub's
database, moved, migrated and copied directly (no hub involved, though one may be serving).
The store is imported only when one of these runs."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from hubbub.cli.hub import JsonFlag
from hubbub.cli.output import EXIT_ERROR, EXIT_USAGE, console, errors, json_text, reporting
from hubbub.paths import default_database

if TYPE_CHECKING:
    from rich.progress import Progress

    from hubbub.store.dumpfile import Moved
    from hubbub.store.migrations import Migration

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database: a SQLite file or a postgresql:// URL (default: HUBBUB_DB, else the "
        "default SQLite file, as for 'hubbub serve').",
        show_default=False,
    ),
]


def _db(db: str | None) -> str:
    return db or os.environ.get("HUBBUB_DB") or default_database()


class _Bar:
    """Rows moved so far, as a rich progress bar on stderr."""

    def __init__(self, bar: Progress, verb: str) -> None:
        self._bar = bar
        self._verb = verb
        self._task: Any = None

    def start(self, total: int) -> None:
        self._task = self._bar.add_task(self._verb, total=total)

    def advance(self, table: str, rows: int) -> None:
        self._bar.update(self._task, advance=rows, description=f"{self._verb} {table}")


class _Quiet:
    def start(self, total: int) -> None:
        pass

    def advance(self, table: str, rows: int) -> None:
        pass


@contextmanager
def _progress(verb: str, quiet: bool) -> Iterator[_Bar | _Quiet]:
    """A progress bar on stderr, when it is a terminal and the output is not ``--json``."""
    if quiet or not sys.stderr.isatty():
        yield _Quiet()
        return
    from rich import progress

    columns = (
        progress.TextColumn("{task.description:<28}"),
        progress.BarColumn(),
        progress.MofNCompleteColumn(),
        progress.TextColumn("rows"),
        progress.TimeElapsedColumn(),
        progress.TimeRemainingColumn(),
    )
    with progress.Progress(*columns, console=errors, transient=True) as bar:
        yield _Bar(bar, verb)


def _summary(moved: Moved, seconds: float) -> dict[str, Any]:
    return {
        "schema": moved.schema,
        "rows": moved.rows,
        "tables": moved.counts,
        "seconds": round(seconds, 3),
    }


def export(
    db: DbOption = None,
    output: Annotated[
        str,
        typer.Option(
            "-o",
            "--output",
            help="File to write (compressed if it ends in .gz), or - for stdout.",
        ),
    ] = "-",
    as_json: JsonFlag = False,
) -> None:
    """Write the whole hub to a JSON Lines file: every message, thread, inbox item, read
    cursor, task, event, key and integration, as one consistent snapshot (a hub may go on
    running). The file holds key digests and webhook secrets: it is created readable by its
    owner only. With -o -, the summary goes to stderr."""
    from hubbub.store import dumpfile, transfer

    to_stdout = output == "-"
    if to_stdout and sys.stdout.isatty():
        errors.print("[red]error[/red]: an export is not for a terminal: give -o FILE or pipe it")
        raise typer.Exit(EXIT_USAGE)
    started = time.monotonic()
    with reporting():
        source = transfer.open_direct(_db(db))
        with _progress("exporting", as_json) as bar:
            if to_stdout:
                moved = asyncio.run(dumpfile.export(source, sys.stdout.buffer, bar))
                sys.stdout.buffer.flush()
            else:
                with dumpfile.created(Path(output)) as out:
                    moved = asyncio.run(dumpfile.export(source, out, bar))
    summary = {"db": source.shown, "file": output, **_summary(moved, time.monotonic() - started)}
    if not to_stdout:
        summary["bytes"] = Path(output).stat().st_size
    if as_json:
        typer.echo(json_text(summary), err=to_stdout)
        return
    shown = errors if to_stdout else console
    where = "stdout" if to_stdout else escape(output)
    shown.print(
        f"Exported {moved.rows:,} rows ({len(moved.counts)} tables, schema {moved.schema}) "
        f"from {escape(source.shown)} to {where} in {summary['seconds']:.1f} s.",
        highlight=False,
        soft_wrap=True,
    )
    shown.print("It holds key digests and webhook secrets: keep it private.", highlight=False)


def backup(
    output: Annotated[
        Path,
        typer.Option(
            "-o",
            "--output",
            help="The file to write (never overwritten), or a folder to write "
            "hubbub-YYYYMMDD-HHMMSS.db (.jsonl.gz from PostgreSQL) into.",
        ),
    ],
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Copy the hub's database while it serves, then check the copy. SQLite: one consistent
    snapshot through SQLite's backup API (the hub keeps committing meanwhile), checked page by
    page; restore it by stopping the hub and putting the file in the database's place.
    PostgreSQL: an export, read back whole; restore it with 'hubbub import'. The file holds
    key digests and webhook secrets: it is readable by its owner only."""
    from hubbub.store import backup as backups
    from hubbub.store import is_postgres

    database = _db(db)
    target = output
    if output.is_dir():
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = output / f"hubbub-{stamp}{'.jsonl.gz' if is_postgres(database) else '.db'}"
    with reporting(), _bytes("backing up", as_json) as shown:
        made = backups.backup(database, target, shown)
    shown_db = transfer_shown(database)
    summary = {
        "db": shown_db,
        "file": str(made.path),
        "bytes": made.bytes,
        "seconds": round(made.seconds, 3),
        "schema": made.schema,
        "rows": made.rows,
        "checked": True,
    }
    if as_json:
        typer.echo(json_text(summary))
        return
    rate = made.bytes / 1e6 / max(made.seconds, 1e-6)
    console.print(
        f"Backed up {escape(shown_db)} to {escape(str(made.path))}: "
        f"{made.bytes / 1e6:,.1f} MB in {made.seconds:.1f} s ({rate:,.0f} MB/s), schema "
        f"{made.schema}, checked.",
        highlight=False,
        soft_wrap=True,
    )


def transfer_shown(db: str) -> str:
    """The database as it may be printed (a PostgreSQL URL without its password)."""
    from hubbub.store import transfer

    return transfer.open_direct(db).shown


@contextmanager
def _bytes(verb: str, quiet: bool) -> Iterator[Callable[[int, int], None]]:
    """A progress bar of bytes on stderr, when it is a terminal and the output is not
    ``--json``; the callback to feed it."""
    if quiet or not sys.stderr.isatty():
        yield lambda done, total: None
        return
    from rich import progress

    columns = (
        progress.TextColumn("{task.description}"),
        progress.BarColumn(),
        progress.DownloadColumn(),
        progress.TimeElapsedColumn(),
    )
    with progress.Progress(*columns, console=errors, transient=True) as bar:
        task = bar.add_task(verb, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=max(total, done))


def load(
    file: Annotated[str, typer.Argument(help="The export file (.gz or not), or - for stdin.")],
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Load an export into an empty database: a new SQLite file, an empty PostgreSQL
    database, or one just migrated. Every id, thread, read cursor and event sequence number
    stays as it was, and new ones follow on. The whole file is checked before anything is
    committed: a truncated or damaged file, one from another schema version, or a database
    that already holds data is refused and changes nothing."""
    from hubbub.store import dumpfile, transfer

    if file == "-" and sys.stdin.isatty():
        errors.print("[red]error[/red]: give an export FILE, or pipe one in for -")
        raise typer.Exit(EXIT_USAGE)
    started = time.monotonic()
    applied: list[Migration] = []
    with reporting():
        target = transfer.open_direct(_db(db))
        with _progress("importing", as_json) as bar:
            if file == "-":
                source = dumpfile.opened(sys.stdin.buffer)
                moved = asyncio.run(dumpfile.load(target, source, bar, on_migrate=applied.append))
            else:
                with dumpfile.reading(Path(file)) as source:
                    moved = asyncio.run(
                        dumpfile.load(target, source, bar, on_migrate=applied.append)
                    )
    summary = {
        "db": target.shown,
        "file": file,
        **_summary(moved, time.monotonic() - started),
        "migrated": [step.version for step in applied],
        "next_ids": moved.following,
        "nul_replaced": moved.replaced,
    }
    if as_json:
        typer.echo(json_text(summary))
        return
    if applied:
        first, last = applied[0].version, applied[-1].version
        console.print(f"Migrated the database first (migrations {first} to {last}).")
    following = moved.following
    console.print(
        f"Imported {moved.rows:,} rows ({len(moved.counts)} tables, schema {moved.schema}) "
        f"into {escape(target.shown)} in {summary['seconds']:.1f} s; new messages start at id "
        f"{following.get('messages', '?')}, new events at seq {following.get('events', '?')}.",
        highlight=False,
        soft_wrap=True,
    )
    if moved.replaced:
        # Text an older hub stored with NUL, which this version no longer takes: said, not
        # silently changed.
        where = ", ".join(f"{column} ({count:,})" for column, count in moved.replaced.items())
        console.print(
            f"Replaced {sum(moved.replaced.values()):,} NUL characters (U+0000) with U+FFFD: "
            f"{escape(where)}.",
            highlight=False,
            soft_wrap=True,
        )


def migrate(
    db: DbOption = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Only list the pending migrations; exit 1 if there are any."),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Apply the schema migrations the database lacks, each in its own transaction, and say
    which. 'hubbub serve' does this on start unless started with --no-migrate; with several
    hub processes, run it once as a deployment step. Also warns of agents one machine
    registered in another machine's namespace, which no key may act as."""
    from hubbub.core import machines
    from hubbub.store import transfer

    with reporting():
        target = transfer.open_direct(_db(db))
        state = asyncio.run(target.schema())
        applied: list[Migration] = []
        if not check and state.pending:

            def say(step: Migration) -> None:
                if not as_json:
                    console.print(f"applied {step.version:04d} {step.name}", highlight=False)

            applied = asyncio.run(target.migrate(say))
        registered, agents = asyncio.run(target.namespaces())
    misplaced = machines.misplaced(agents, registered)
    # Once migrated, the database is at this build's schema (whoever applied which step).
    version, pending = (state.version, state.pending) if check else (state.latest, [])
    if as_json:
        report = {
            "db": target.shown,
            "version": version,
            "latest": state.latest,
            "applied": [_step(step) for step in applied],
            "pending": [_step(step) for step in pending],
            "misplaced": [
                {"agent": m.agent, "machine": m.machine, "owner": m.owner} for m in misplaced
            ],
        }
        typer.echo(json_text(report))
    else:
        _show(target.shown, version, state.latest, pending)
        if misplaced:
            # Part of the report, but not a failure: the exit code keeps saying only whether
            # migrations are pending, which deployment scripts branch on.
            console.print(
                f"[yellow]warning[/yellow]: {escape(machines.warning(misplaced))}",
                highlight=False,
                soft_wrap=True,
            )
    if pending:
        raise typer.Exit(EXIT_ERROR)


def _step(step: Migration) -> dict[str, Any]:
    return {"version": step.version, "name": step.name}


def _show(db: str, version: int, latest: int, pending: list[Migration]) -> None:
    if not pending:
        console.print(
            f"{escape(db)}: schema {version}, up to date.", highlight=False, soft_wrap=True
        )
        return
    console.print(
        f"{escape(db)}: schema {version}, this hub's is {latest}; pending:",
        highlight=False,
        soft_wrap=True,
    )
    for step in pending:
        console.print(f"  {step.version:04d} {step.name}", highlight=False)
