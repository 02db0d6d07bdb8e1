"""PostgreSQL next to SQLite in one run: post throughput and delivery latency on SQLite (one
process), on PostgreSQL with one hub process, and on PostgreSQL with two processes sharing the
database; claims a second on PostgreSQL; and PostgreSQL's own commit ceilings on this machine.

The cluster is a throwaway one (``tests/postgres.py``, started here without pytest) with
PostgreSQL's durable settings: ``fsync``, ``synchronous_commit`` and ``full_page_writes`` on,
so each commit waits for its WAL flush, as SQLite's ``synchronous=FULL`` (the hub's default,
used for the SQLite side) waits for its fsync. Without PostgreSQL (no ``initdb``) the part is
skipped with the reason.

Each setup gets fresh databases and fresh hubs: a warm-up, then delivery latency (posts to the
first process, the subscriber on the last, so with two processes every event crosses from one
to the other through the database's NOTIFY), then wrk's post run with the connections split
evenly over the processes (one wrk per process, run together). The hubs are stopped and the
messages counted: every acknowledged post must be a row.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from tests.postgres import Cluster, find_bindir, running_cluster

from bench import ceilings, load, posts, processes, realtime, tasks
from bench.config import RESULTS, BenchConfig, scratch
from bench.postgres_inserts import PgInsertRate, raw_inserts
from bench.progress import say

SHOWN = ("server_version", "fsync", "synchronous_commit", "full_page_writes", "wal_sync_method")
_TICK = os.sysconf("SC_CLK_TCK")
RESULTS_ALONE = RESULTS.parent / "postgres.json"
"""Where ``python -m bench.postgres`` (this part alone) writes its numbers."""


@dataclass(frozen=True, slots=True)
class Setup:
    """One engine and process count: its post run (a wrk per process) and delivery latency."""

    engine: str
    processes: int
    runs: list[load.WrkRun]
    latency: realtime.DeliveryLatency
    db_cpu: float
    """CPU seconds PostgreSQL (every server process) used during the post run."""
    before: int
    """Messages committed before the post run (warm-up, latency posts), all answered."""
    rows: int
    """Messages in the database once the hubs stopped."""

    @property
    def label(self) -> str:
        """``SQLite x1``, ``PostgreSQL x2``: the engine and the number of hub processes."""
        return f"{self.engine} x{self.processes}"

    @property
    def connections(self) -> int:
        return sum(run.connections for run in self.runs)

    @property
    def rate(self) -> float:
        """Posts a second over every process."""
        return sum(run.rate for run in self.runs)

    @property
    def p50_ms(self) -> float:
        """The slower process's median post latency."""
        return max(run.p50_ms for run in self.runs)

    @property
    def p99_ms(self) -> float:
        return max(run.p99_ms for run in self.runs)

    @property
    def hub_cores(self) -> float:
        return sum(run.cores for run in self.runs)

    @property
    def db_cores(self) -> float:
        return self.db_cpu / max(run.seconds for run in self.runs)

    @property
    def acked(self) -> int:
        return self.before + sum(run.acked for run in self.runs)

    @property
    def lost(self) -> int:
        """Acknowledged posts missing from the database: must be 0."""
        return max(0, self.acked - self.rows)

    @property
    def errors(self) -> int:
        return sum(run.status_errors + run.socket_errors + run.timeouts for run in self.runs)


@dataclass(frozen=True, slots=True)
class PostgresResults:
    """Everything this part measured, or why it did not run."""

    skipped: str | None = None
    server: dict[str, str] = field(default_factory=dict)
    """PostgreSQL's version and durability settings, as the server reports them."""
    inserts: list[PgInsertRate] = field(default_factory=list)
    setups: list[Setup] = field(default_factory=list)
    claims: dict[str, tasks.ClaimRun] = field(default_factory=dict)
    """The task benchmark's claim run, by engine."""

    @property
    def lost(self) -> int:
        return sum(setup.lost for setup in self.setups)


def db_cpu(cluster: Cluster) -> float:
    """CPU seconds used so far by the cluster: the postmaster (with its children that ended)
    and every server process it started that still runs."""
    master = int((cluster.data / "postmaster.pid").read_text().split()[0])
    used = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):  # ended meanwhile
            continue
        pid = int(stat.parent.name)
        if pid == master:
            used += sum(int(v) for v in fields[11:15]) / _TICK  # utime stime cutime cstime
        elif int(fields[1]) == master:
            used += (int(fields[11]) + int(fields[12])) / _TICK
    return used


def _count(db: Path | str) -> int:
    if isinstance(db, Path):
        return posts.count_messages(db)
    with psycopg.connect(db) as conn:
        row = conn.execute("SELECT count(*) FROM messages").fetchone()
        return int(row[0]) if row else 0


def setup(
    cfg: BenchConfig,
    workdir: Path,
    engine: str,
    db: Path | str,
    count: int,
    cluster: Cluster | None,
) -> Setup:
    """``count`` hubs on ``db``: warm-up, delivery latency, the post run, a stop and a count."""
    clients = max(cfg.clients)
    label = f"{engine} x{count}"
    with ExitStack() as stack:
        hubs = [stack.enter_context(processes.hub(workdir / f"hub{i}", db)) for i in range(count)]
        first = hubs[0]
        for hub in hubs:
            load.warm_up(hub.url, first.headers, cfg.warmup)
        delivered = realtime.delivery(cfg, first, hubs[-1].url, workdir / "subs.log", label)
        before = _count(db)
        say(f"{label}: wrk, {clients} connections over {count} process(es), {cfg.seconds} s")
        start_cpu = db_cpu(cluster) if cluster else 0.0
        with ThreadPoolExecutor(count) as pool:
            futures = [
                pool.submit(load.wrk, cfg, hub.url, clients // count, first.headers, hub.server.pid)
                for hub in hubs
            ]
            runs = [future.result() for future in futures]
        used = db_cpu(cluster) - start_cpu if cluster else 0.0
    return Setup(engine, count, runs, delivered, used, before, _count(db))


def _server(cluster: Cluster) -> dict[str, str]:
    return {name: str(cluster.execute(f"SHOW {name}")[0][0]) for name in SHOWN}


def measure(
    cfg: BenchConfig, workdir: Path, sqlite_claims: tasks.ClaimRun | None = None
) -> PostgresResults:
    """SQLite, PostgreSQL x1, PostgreSQL x2; the claim run on PostgreSQL (and on SQLite, unless
    the task benchmark of the same run already made it); PostgreSQL's commit ceilings."""
    if find_bindir() is None:
        reason = (
            "PostgreSQL is not installed (no initdb under `pg_config --bindir` or "
            "/usr/lib/postgresql/*/bin): the PostgreSQL comparison is skipped"
        )
        say(reason)
        return PostgresResults(skipped=reason)
    workdir.mkdir(parents=True, exist_ok=True)
    with running_cluster(durable=True) as cluster:
        server = _server(cluster)
        say(f"PostgreSQL {server['server_version']}: raw inserts, {cfg.raw_seconds:.1f} s each")
        inserts = raw_inserts(cluster, cfg.raw_seconds)
        found = [setup(cfg, workdir / "sqlite", "SQLite", workdir / "sqlite" / "hub.db", 1, None)]
        for count in (1, 2):
            name = f"hub{count}"
            cluster.execute(f"CREATE DATABASE {name}")
            found.append(
                setup(cfg, workdir / name, "PostgreSQL", cluster.url(name), count, cluster)
            )
        claims: dict[str, tasks.ClaimRun] = {}
        if sqlite_claims is None:
            sqlite_claims = tasks.claims(cfg, workdir / "claims-sqlite")
        claims["SQLite"] = sqlite_claims
        cluster.execute("CREATE DATABASE claims")
        say("tasks on PostgreSQL:")
        claims["PostgreSQL"] = tasks.claims(cfg, workdir / "claims-pg", cluster.url("claims"))
    return PostgresResults(None, server, inserts, found, claims)


def main() -> None:
    """``python -m bench.postgres``: only these measurements, printed as in a full run."""

    from rich.console import Console

    from bench.postgres_report import print_postgres
    from bench.report import postgres_json

    cfg = BenchConfig.from_env()
    if not cfg.wrk:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    clients = max(cfg.clients)
    with scratch("hubbub-bench-pg-") as tmp:
        # The HTTP ceilings the ratios need, which a full run measures anyway.
        with ExitStack() as stack:
            servers = ceilings.CeilingServers(cfg, tmp / "ceilings", stack)
            servers.measure("bare", clients)
            servers.measure("insert-FULL", clients)
        found = measure(cfg, tmp)
    print_postgres(cfg, found, servers.results, Console(width=132))
    RESULTS_ALONE.parent.mkdir(parents=True, exist_ok=True)
    data = postgres_json(found, servers.results)
    RESULTS_ALONE.write_text(json.dumps(data, indent=2) + "\n")
    print(f"\nwritten: {RESULTS_ALONE}")


if __name__ == "__main__":
    main()
