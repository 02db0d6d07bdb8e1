"""The tables of the PostgreSQL comparison (:mod:`bench.postgres`), and its ratios against the
ceilings measured in the same run."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from bench.ceilings import HttpCeiling
from bench.config import BenchConfig
from bench.postgres import PostgresResults, Setup
from bench.postgres_inserts import CONCURRENT


def _share(ratio: float | None) -> str:
    return f"{100 * ratio:.0f} %" if ratio else "-"


def _http(http: dict[str, HttpCeiling] | None, name: str, clients: int) -> float | None:
    run = http[name].runs.get(clients) if http and name in http else None
    return run.rate if run else None


def commit_ceiling(found: PostgresResults) -> float | None:
    """Rows a second ``CONCURRENT`` connections commit, one row a transaction."""
    return next(
        (r.rate for r in found.inserts if r.connections == CONCURRENT and r.rows_per_txn == 1),
        None,
    )


def ratios(
    found: PostgresResults, setup: Setup, http: dict[str, HttpCeiling] | None
) -> dict[str, float | None]:
    """Posts/s of ``setup`` against SQLite's in this part, the HTTP ceilings at the same number
    of connections (bare, insert/request at FULL) and, on PostgreSQL, its concurrent commit
    ceiling."""
    sqlite = next((s.rate for s in found.setups if s.engine == "SQLite"), None)
    bases = {
        "vs_sqlite": sqlite,
        "vs_bare": _http(http, "bare", setup.connections),
        "vs_insert_request": _http(http, "insert-FULL", setup.connections),
        "vs_pg_commits": commit_ceiling(found) if setup.engine == "PostgreSQL" else None,
    }
    return {name: setup.rate / base if base else None for name, base in bases.items()}


def print_postgres(
    cfg: BenchConfig,
    found: PostgresResults,
    http: dict[str, HttpCeiling] | None,
    out: Console,
) -> None:
    """The ceilings, the post runs side by side, delivery latency, claims."""
    if found.skipped:
        out.print(f"PostgreSQL comparison: skipped. {found.skipped}")
        return
    server = found.server
    durable = ", ".join(f"{k}={v}" for k, v in server.items() if k != "server_version")
    table = Table(
        title=f"PostgreSQL {server.get('server_version', '?')} ceilings on this machine "
        f"(same run; {durable})",
        title_justify="left",
    )
    for column in ("ceiling", "connections", "rows/s"):
        table.add_column(column, justify="left" if column == "ceiling" else "right")
    for rate in found.inserts:
        name = f"raw PostgreSQL insert, {rate.rows_per_txn:,} row/txn"
        table.add_row(name, str(rate.connections), f"{rate.rate:,.0f}")
    out.print(table)

    title = (
        f"Posts: SQLite (synchronous=FULL) and PostgreSQL (durable), wrk -t1 per hub process, "
        f"{max(cfg.clients)} connections split over the processes, {cfg.seconds} s"
    )
    table = Table(title=title, title_justify="left")
    columns: tuple[str, ...] = ("setup", "posts/s", "vs SQLite", "p50 ms", "p99 ms", "vs bare")
    columns += ("vs insert/req", "vs PG commits", "hub cores", "PG cores", "lost", "errors")
    for column in columns:
        table.add_column(column, justify="left" if column == "setup" else "right")
    for setup in found.setups:
        ratio = ratios(found, setup, http)
        table.add_row(
            setup.label,
            f"{setup.rate:,.0f}",
            _share(ratio["vs_sqlite"]),
            f"{setup.p50_ms:.1f}",
            f"{setup.p99_ms:.1f}",
            _share(ratio["vs_bare"]),
            _share(ratio["vs_insert_request"]),
            _share(ratio["vs_pg_commits"]),
            f"{setup.hub_cores:.2f}",
            f"{setup.db_cores:.2f}" if setup.engine != "SQLite" else "-",
            f"[red]{setup.lost}[/red]" if setup.lost else "0",
            str(setup.errors),
        )
    out.print(table)

    first = found.setups[0].latency
    title = (
        f"Delivery, post → SSE event at 1 subscriber ({first.messages:,} posts "
        f"{first.interval_ms:g} ms apart; with 2 processes, posted to one, subscribed on the other)"
    )
    table = Table(title=title, title_justify="left")
    columns = ("setup", "p50 ms", "p95 ms", "p99 ms", "max ms", "post answer p50 ms")
    for column in (*columns, "event before answer"):
        table.add_column(column, justify="left" if column == "setup" else "right")
    for setup in found.setups:
        d = setup.latency
        table.add_row(
            setup.label,
            f"{d.p50_ms:.2f}",
            f"{d.p95_ms:.2f}",
            f"{d.p99_ms:.2f}",
            f"{d.max_ms:.2f}",
            f"{d.post_p50_ms:.2f}",
            f"{d.early / d.messages:.0%}",
        )
    out.print(table)

    if found.claims:
        run = next(iter(found.claims.values()))
        title = (
            f"Tasks: {run.workers} workers draining {run.tasks:,} tasks with claim-next, 1 hub "
            "process (posts/s: the same workers posting, on the same hub)"
        )
        table = Table(title=title, title_justify="left")
        columns = ("engine", "creates/s", "claims/s", "posts/s", "claims vs posts", "p50 ms")
        for column in (*columns, "p99 ms", "duplicates"):
            table.add_column(column, justify="left" if column == "engine" else "right")
        for engine, run in found.claims.items():
            table.add_row(
                engine,
                f"{run.creates_per_second:,.0f}",
                f"{run.claims_per_second:,.0f}",
                f"{run.posts_per_second:,.0f}",
                f"{run.vs_posts:.0%}",
                f"{run.p50_ms:.2f}",
                f"{run.p99_ms:.2f}",
                f"[red]{run.duplicates}[/red]" if run.duplicates else "0",
            )
        out.print(table)
