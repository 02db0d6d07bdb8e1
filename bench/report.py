"""The results of one run: the targets, the printed tables and ``bench/results/latest.json``."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import sqlite3
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.ceilings import HttpCeiling
from bench.config import BENCH_DIR, BenchConfig
from bench.corpus import BUSY
from bench.dashboard import DashboardResults
from bench.files import FileResults
from bench.footprint import Footprint
from bench.hooks import HookResults
from bench.load import WrkRun
from bench.operations import OperationsResults
from bench.postgres import PostgresResults
from bench.postgres_report import ratios
from bench.posts import PostRun
from bench.reads import Latency, ReadResults
from bench.realtime import RealtimeResults
from bench.runner import RunnerResults
from bench.sqlite_inserts import InsertRate
from bench.tasks import TaskResults


@dataclass(slots=True)
class Results:
    """Everything one run measured: a part that was not run, or failed, stays ``None`` (its
    error is in ``failed``)."""

    config: BenchConfig
    inserts: list[InsertRate] | None = None
    http: dict[str, HttpCeiling] | None = None
    posts: list[PostRun] | None = None
    reads: ReadResults | None = None
    footprint: list[Footprint] | None = None
    realtime: RealtimeResults | None = None
    tasks: TaskResults | None = None
    postgres: PostgresResults | None = None
    hooks: HookResults | None = None
    dashboard: DashboardResults | None = None
    files: FileResults | None = None
    runner: RunnerResults | None = None
    operations: OperationsResults | None = None
    failed: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def lost(self) -> int:
        """Acknowledged posts missing from the database, over every post run."""
        runs = [
            *(self.posts or []),
            *(load.posts for load in (self.realtime.load if self.realtime else [])),
            *(load.posts for load in (self.dashboard.load if self.dashboard else [])),
        ]
        return sum(run.lost for run in runs) + (self.postgres.lost if self.postgres else 0)


@dataclass(frozen=True, slots=True)
class Target:
    """A goal from the issue and whether this run met it."""

    name: str
    value: float
    goal: float
    unit: str
    at_least: bool

    @property
    def met(self) -> bool:
        return self.value >= self.goal if self.at_least else self.value <= self.goal


def _post(results: Results, synchronous: str, clients: int) -> PostRun | None:
    for run in results.posts or []:
        if run.synchronous == synchronous and run.wrk.connections == clients:
            return run
    return None


def insert_ceiling(results: Results, run: PostRun) -> float | None:
    """The insert-per-request ceiling at the run's synchronous setting and client count."""
    ceiling = (results.http or {}).get(f"insert-{run.synchronous}")
    found = ceiling.runs.get(run.wrk.connections) if ceiling else None
    return found.rate if found else None


def bare_ceiling(results: Results, clients: int) -> float | None:
    bare = (results.http or {}).get("bare")
    found = bare.runs.get(clients) if bare else None
    return found.rate if found else None


def _latency(reads: ReadResults, name: str) -> float:
    return next(k.p95_ms for k in reads.kinds if k.name == name)


def _cpu_us(run: WrkRun) -> float:
    return run.loop_us + run.threads_us


def targets(results: Results) -> list[Target]:
    """The goals, measured: each a ratio against a ceiling of the same run where there is
    one."""
    most = max(results.config.clients)
    found: list[Target] = []
    full = _post(results, "FULL", most)
    bare = (results.http or {}).get("bare")
    bare_run = bare.runs.get(most) if bare else None
    if full is not None:
        found.append(Target(f"posts/s, {most} clients, FULL", full.wrk.rate, 5000, "/s", True))
        if bare_run is not None and bare_run.rate:
            share = 100 * full.wrk.rate / bare_run.rate
            found.append(Target("posts/s vs bare endpoint", share, 40, "%", True))
            times = _cpu_us(full.wrk) / _cpu_us(bare_run)
            found.append(Target("server CPU per post vs bare request", times, 2, "x", False))
        ceiling = insert_ceiling(results, full)
        if ceiling:
            share = 100 * full.wrk.rate / ceiling
            found.append(Target("posts/s vs insert/request ceiling", share, 85, "%", True))
    if results.reads is not None:
        reads = results.reads
        latest = _latency(reads, "latest 50")
        found.append(Target("latest-50 read p95", latest, 1.5, "ms", False))
        floor = reads.floor.p95_ms
        if floor > 0:
            found.append(Target("latest-50 read p95 vs bare GET", latest / floor, 2, "x", False))
        search = _latency(reads, "search (all)")
        found.append(Target("search p95 (all queries), SQLite", search, 4, "ms", False))
        if reads.postgres:
            busy = next(k.p95_ms for k in reads.postgres if k.name == f"search {BUSY!r}")
            found.append(Target(f"search p95 {BUSY!r}, PostgreSQL", busy, 10, "ms", False))
            every = next(k.p95_ms for k in reads.postgres if k.name == "search (all)")
            found.append(Target("search p95 (all queries), PostgreSQL", every, 10, "ms", False))
    normal = _post(results, "NORMAL", most)
    if full is not None and normal is not None and normal.wrk.rate:
        share = 100 * full.wrk.rate / normal.wrk.rate
        found.append(Target(f"posts/s FULL vs NORMAL, {most} clients", share, 80, "%", True))
    if results.footprint:
        hub = results.footprint[0]
        found.append(Target("idle RSS", hub.idle_rss_mb, 80, "MiB", False))
        found.append(Target("start to healthy (median)", hub.start_median, 0.4, "s", False))
    if results.postgres is not None:
        found += _postgres_targets(results.postgres)
    if results.realtime is not None:
        found += _realtime_targets(results.realtime)
    if results.hooks is not None:
        found += hook_targets(results.hooks)
    if results.operations is not None:
        share = 100 * results.operations.metrics.ratio
        found.append(Target("posts/s with /metrics scraped 1/s vs not", share, 97, "%", True))
        during = results.operations.backup.posts_during_ms
        if during:
            found.append(Target("longest post during a backup", max(during), 100, "ms", False))
        pruning = results.operations.retention.posts_during_ms
        if pruning:
            found.append(Target("longest post during a prune", max(pruning), 100, "ms", False))
    if results.runner is not None and results.runner.start is not None:
        start = results.runner.start.p95_ms
        found.append(Target("DM → runner's harness started p95", start, 100, "ms", False))
    return found


def _postgres_targets(found: PostgresResults) -> list[Target]:
    """PostgreSQL's posts against SQLite's, and two hub processes against one."""
    sqlite = next((s for s in found.setups if s.engine == "SQLite"), None)
    postgres = sorted(
        (s for s in found.setups if s.engine == "PostgreSQL"), key=lambda s: len(s.runs)
    )
    targets: list[Target] = []
    if sqlite is not None and postgres and sqlite.rate:
        share = 100 * postgres[0].rate / sqlite.rate
        targets.append(Target("PostgreSQL posts/s vs SQLite, 1 process", share, 70, "%", True))
    if len(postgres) > 1 and postgres[0].rate:
        ratio = postgres[-1].rate / postgres[0].rate
        targets.append(Target("PostgreSQL posts/s, 2 processes vs 1", ratio, 1.0, "x", True))
    return targets


def hook_targets(hooks: HookResults) -> list[Target]:
    """The hook and start-up targets, for what was measured."""
    goals = [
        ("hubbub hook prompt, hub up", "p95", 150, "hook command p95, hub up"),
        ("hubbub whoami", "p50", 250, "hubbub whoami start to exit (median)"),
        ("HTTP hook, prompt, nothing new", "p95", 10, "HTTP hook round trip p95"),
        ("idle waiter exit (hook wake)", "p95", 1000, "DM → idle waiter exit p95"),
    ]
    found: list[Target] = []
    for name, which, goal, label in goals:
        timing = hooks.get(name)
        if timing is not None:
            value = timing.p95_ms if which == "p95" else timing.p50_ms
            found.append(Target(label, value, goal, "ms", False))
    return found


def _realtime_targets(realtime: RealtimeResults) -> list[Target]:
    found: list[Target] = []
    full = next((d for d in realtime.latency if d.synchronous == "FULL"), None)
    if full is not None:
        found.append(Target("SSE delivery p99, post → event, FULL", full.p99_ms, 5, "ms", False))
    if realtime.fanout:
        widest = max(realtime.fanout, key=lambda f: f.subscribers)
        name = f"fan-out to {widest.subscribers:,}: send → last subscriber (median)"
        found.append(Target(name, widest.last_median_ms, 250, "ms", False))
    ratio = realtime.load_ratio
    streams = max((r.streams for r in realtime.load), default=0)
    if ratio is not None:
        name = f"posts/s with {streams} SSE streams open vs none"
        found.append(Target(name, 100 * ratio, 90, "%", True))
    return found


def _pct(value: float, ceiling: float | None) -> str:
    return f"{100 * value / ceiling:.0f} %" if ceiling else "-"


def _times(value: float, floor: float) -> str:
    return f"{value / floor:.1f}x" if floor > 0 else "-"


def latency_table(title: str, timings: Iterable[Latency], digits: int = 2) -> Table:
    """One row per kind of request: samples, p50, p95 and p99 in milliseconds, and detail."""
    table = Table(title=title, title_justify="left")
    for column in ("what", "n", "p50 ms", "p95 ms", "p99 ms", "detail"):
        table.add_column(column, justify="left" if column in ("what", "detail") else "right")
    for t in timings:
        table.add_row(
            t.name,
            str(t.samples),
            f"{t.p50_ms:.{digits}f}",
            f"{t.p95_ms:.{digits}f}",
            f"{t.p99_ms:.{digits}f}",
            t.detail,
        )
    return table


def print_throughput(results: Results, out: Console) -> None:
    """The ceilings of this machine, the hub's post runs, and the durability check."""
    cfg = results.config
    ceilings = Table(title="Ceilings on this machine (same run)", title_justify="left")
    for column in ("ceiling", "clients", "rate", "p99 ms", "loop us/req", "cores"):
        ceilings.add_column(column, justify="left" if column == "ceiling" else "right")
    for rate in results.inserts or []:
        name = f"raw SQLite, {rate.rows_per_txn:,} row/txn, {rate.synchronous}"
        ceilings.add_row(name, "-", f"{rate.rate:,.0f} rows/s", "-", "-", "-")
    for ceiling in (results.http or {}).values():
        for clients, w in ceiling.runs.items():
            label = (
                "HTTP bare endpoint"
                if ceiling.name == "bare"
                else f"HTTP insert/request, {ceiling.name.removeprefix('insert-')}"
            )
            ceilings.add_row(
                label,
                str(clients),
                f"{w.rate:,.0f} req/s",
                f"{w.p99_ms:.1f}",
                f"{w.loop_us:.0f}",
                f"{w.cores:.2f}",
            )
    out.print(ceilings)

    posts = Table(title=f"Hub posts (wrk -t1, {cfg.seconds} s each)", title_justify="left")
    columns = ("sync", "clients", "posts/s", "p50 ms", "p99 ms", "vs insert/req", "vs bare")
    for column in (*columns, "loop us/post", "threads us/post", "cores"):
        posts.add_column(column, justify="right")
    durable = Table(
        title="No acknowledged post lost (rows counted after the hub stopped)", title_justify="left"
    )
    for column in ("sync", "clients", "2xx", "rows", "in flight", "lost", "errors"):
        durable.add_column(column, justify="right")
    for run in results.posts or []:
        w = run.wrk
        posts.add_row(
            run.synchronous,
            str(w.connections),
            f"{w.rate:,.0f}",
            f"{w.p50_ms:.1f}",
            f"{w.p99_ms:.1f}",
            _pct(w.rate, insert_ceiling(results, run)),
            _pct(w.rate, bare_ceiling(results, w.connections)),
            f"{w.loop_us:.0f}",
            f"{w.threads_us:.0f}",
            f"{w.cores:.2f}",
        )
        durable.add_row(
            run.synchronous,
            str(w.connections),
            f"{run.acked:,}",
            f"{run.rows:,}",
            str(run.unanswered),
            f"[red]{run.lost}[/red]" if run.lost else "0",
            str(w.status_errors + w.socket_errors + w.timeouts),
        )
    out.print(posts)
    out.print(durable)


def _engines(reads: ReadResults) -> list[tuple[Latency, str]]:
    """Every timed kind, with the engine it ran on when that is PostgreSQL."""
    return [
        *((kind, "") for kind in reads.kinds),
        *((kind, ", PostgreSQL") for kind in reads.postgres),
        (reads.floor, ""),
    ]


def print_reads(results: Results, out: Console) -> None:
    """Reads and searches against the floor of a bare GET."""
    cfg = results.config
    reads = results.reads
    if reads is None:
        return
    title = (
        f"Reads in a {cfg.messages:,}-message channel (sequential, keep-alive; seeded at "
        f"{reads.seeded.rate:,.0f} posts/s in-process)"
    )
    table = Table(title=title, title_justify="left")
    for column in ("request", "n", "p50 ms", "p95 ms", "p99 ms", "p50 vs floor", "detail"):
        table.add_column(column, justify="left" if column in ("request", "detail") else "right")
    for kind, engine in _engines(reads):
        table.add_row(
            f"{kind.name}{engine}",
            str(kind.samples),
            f"{kind.p50_ms:.2f}",
            f"{kind.p95_ms:.2f}",
            f"{kind.p99_ms:.2f}",
            _times(kind.p50_ms, reads.floor.p50_ms),
            kind.detail,
        )
    out.print(table)


def print_footprint(results: Results, out: Console) -> None:
    """Start time and idle memory, the hub's against the bare server's."""
    if not results.footprint:
        return
    hub, bare = results.footprint
    foot = Table(title="Process footprint", title_justify="left")
    for column in ("program", "start median s", "first start s", "idle RSS MiB"):
        foot.add_column(column, justify="left" if column == "program" else "right")
    for item in (hub, bare):
        first = f"{item.first_start:.3f}" if item.first_start is not None else "-"
        foot.add_row(item.name, f"{item.start_median:.3f}", first, f"{item.idle_rss_mb:.1f}")
    foot.add_row(
        "hub vs bare",
        _times(hub.start_median, bare.start_median),
        "",
        _times(hub.idle_rss_mb, bare.idle_rss_mb),
    )
    out.print(foot)


def print_targets(results: Results, out: Console) -> None:
    """Each target with what this run measured, and the parts that failed."""
    goals = Table(title="Targets", title_justify="left")
    for column in ("target", "measured", "goal", "met"):
        goals.add_column(column, justify="left" if column == "target" else "right")
    for target in targets(results):
        sign = "≥" if target.at_least else "≤"
        goals.add_row(
            target.name,
            f"{target.value:,.2f} {target.unit}",
            f"{sign} {target.goal:,} {target.unit}",
            "[green]yes[/green]" if target.met else "[red]no[/red]",
        )
    out.print(goals)
    for name, error in results.failed.items():
        out.print(f"[red]failed[/red] {name}: {error}", highlight=False)


def print_realtime(results: Results, out: Console) -> None:
    """Delivery latency, fan-out, and posts with streams open."""
    cfg = results.config
    realtime = results.realtime
    if realtime is None:
        return
    if realtime.latency:
        first = realtime.latency[0]
        title = (
            f"Real-time delivery, post → SSE event at 1 subscriber ({first.messages:,} posts "
            f"{first.interval_ms:g} ms apart on one keep-alive connection; subscriber in "
            "another process)"
        )
        table = Table(title=title, title_justify="left")
        columns: tuple[str, ...] = ("sync", "p50 ms", "p95 ms", "p99 ms", "max ms")
        for column in (*columns, "post answer p50 ms", "post answer p99 ms", "event before answer"):
            table.add_column(column, justify="right")
        for d in realtime.latency:
            table.add_row(
                d.synchronous,
                f"{d.p50_ms:.2f}",
                f"{d.p95_ms:.2f}",
                f"{d.p99_ms:.2f}",
                f"{d.max_ms:.2f}",
                f"{d.post_p50_ms:.2f}",
                f"{d.post_p99_ms:.2f}",
                f"{d.early / d.messages:.0%}",
            )
        out.print(table)

    if realtime.fanout:
        title = (
            f"Real-time fan-out of one post (distinct agents, one stream each; median of "
            f"{cfg.fanout_rounds} posts, worst in brackets; times from sending the post)"
        )
        table = Table(title=title, title_justify="left")
        columns = ("subscribers", "streams open s", "post answer ms", "median has it ms")
        for column in (*columns, "last has it ms", "answer → last ms"):
            table.add_column(column, justify="right")
        for f in realtime.fanout:
            table.add_row(
                f"{f.subscribers:,}",
                f"{f.open_seconds:.2f}",
                f"{f.post_median_ms:.1f} ({max(f.post_ms):.1f})",
                f"{f.median_median_ms:.1f}",
                f"{f.last_median_ms:.1f} ({f.last_max_ms:.1f})",
                f"{f.after_answer_median_ms:.1f}",
            )
        out.print(table)

    if realtime.load:
        clients = realtime.load[0].posts.wrk.connections
        title = (
            f"Real-time: hub posts with SSE streams open on the posted channel (wrk -t1, "
            f"{clients} connections, {cfg.seconds} s; each stream a member, consuming every event)"
        )
        table = Table(title=title, title_justify="left")
        columns = ("streams", "posts/s", "vs none", "p99 ms", "loop us/post")
        columns += ("threads us/post", "cores", "sub. cores", "events/stream", "resyncs")
        for column in (*columns, "lost"):
            table.add_column(column, justify="right")
        none = next((r for r in realtime.load if r.streams == 0), None)
        for r in realtime.load:
            w = r.posts.wrk
            base = none.posts.wrk.rate if none is not None else None
            delivered = f"{r.delivered_min:,}/{r.expected:,}" if r.streams else "-"
            table.add_row(
                str(r.streams),
                f"{w.rate:,.0f}",
                _pct(w.rate, base),
                f"{w.p99_ms:.1f}",
                f"{w.loop_us:.0f}",
                f"{w.threads_us:.0f}",
                f"{w.cores:.2f}",
                f"{r.client_cores:.2f}" if r.streams else "-",
                delivered,
                str(r.resyncs),
                f"[red]{r.posts.lost}[/red]" if r.posts.lost else "0",
            )
        out.print(table)


def print_task_tables(found: TaskResults, out: Console) -> None:
    """The task benchmark's two tables."""
    run = found.claims
    title = (
        f"Tasks: {run.workers} workers draining {run.tasks:,} tasks with claim-next (one "
        f"keep-alive connection each; created at {run.creates_per_second:,.0f}/s)"
    )
    table = Table(title=title, title_justify="left")
    columns: tuple[str, ...] = ("claims/s", "posts/s", "claims vs posts", "p50 ms", "p99 ms")
    columns += ("claimed", "duplicates", "loop s", "threads s")
    for column in (*columns, "cores"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{run.claims_per_second:,.0f}",
        f"{run.posts_per_second:,.0f}",
        f"{run.vs_posts:.0%}",
        f"{run.p50_ms:.2f}",
        f"{run.p99_ms:.2f}",
        f"{run.claimed:,}",
        f"[red]{run.duplicates}[/red]" if run.duplicates else "0",
        f"{run.loop_cpu:.2f}",
        f"{run.threads_cpu:.2f}",
        f"{run.cores:.2f}",
    )
    out.print(table)
    title = (
        "Tasks: creation → first claim (wait: a pending claim-next with wait; sse: a claim "
        "made on the task.created event)"
    )
    table = Table(title=title, title_justify="left")
    for column in ("path", "n", "p50 ms", "p95 ms", "p99 ms", "max ms", "event p50 ms"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for first in found.first_claim:
        table.add_row(
            first.path,
            str(first.samples),
            f"{first.p50_ms:.2f}",
            f"{first.p95_ms:.2f}",
            f"{first.p99_ms:.2f}",
            f"{first.max_ms:.2f}",
            "-" if first.event_p50_ms is None else f"{first.event_p50_ms:.2f}",
        )
    out.print(table)


def print_hook_tables(hooks: HookResults, out: Console) -> None:
    """The hooks benchmark's tables: start times, the hook route, DM delivery per path."""
    titles = (
        ("Command start to exit (runs interleaved)", hooks.starts),
        ("Hook routes (one kept-alive loopback connection)", hooks.route),
        ("A DM's 2xx → its text available, per path", hooks.delivery),
    )
    for title, timings in titles:
        if not timings:
            continue
        out.print(latency_table(title, timings, digits=1))
    for name, reason in hooks.skipped.items():
        out.print(f"[yellow]skipped[/yellow] {name}: {reason}", highlight=False)


def print_runner_tables(found: RunnerResults, out: Console) -> None:
    """The runner benchmark's table: DM → harness start, harness end → reply."""
    timings = [t for t in (found.start, found.reply) if t is not None]
    if timings:
        out.print(latency_table("The always-on runner (stand-in harness)", timings, digits=1))
    for name, reason in found.skipped.items():
        out.print(f"[yellow]skipped[/yellow] {name}: {reason}", highlight=False)


def print_dashboard_tables(found: DashboardResults, out: Console) -> None:
    """Posts with dashboards open, post → fragment, and the channel page against REST."""
    table = Table(title="Posts with dashboards open (wrk, FULL)", title_justify="left")
    for column in ("dashboards", "posts/s", "vs none", "p99 ms", "fragments each", "lost"):
        table.add_column(column, justify="right")
    for run in found.load:
        table.add_row(
            str(run.dashboards),
            f"{run.posts.wrk.rate:,.0f}",
            f"{found.ratio(run):.0%}",
            f"{run.posts.wrk.p99_ms:.1f}",
            f"{min(run.delivered):,} of {run.expected:,}" if run.delivered else "-",
            str(run.posts.lost),
        )
    out.print(table)
    lat = found.latency
    out.print(
        f"post → its fragment at an open dashboard: p50 {lat.p50_ms:.2f} ms, "
        f"p99 {lat.p99_ms:.2f} ms ({lat.messages} posts {lat.interval_ms:g} ms apart)",
        highlight=False,
    )
    title = "Channel page against the same read (latest 50)"
    out.print(latency_table(title, (found.page, found.rest)))


def print_file_tables(found: FileResults, out: Console) -> None:
    """File throughput against a plain copy, and ten uploads at once."""
    table = Table(title="Files: MB/s, medians (one keep-alive client, FULL)", title_justify="left")
    for column in ("size", "runs", "copy", "upload", "vs copy", "download", "vs copy"):
        table.add_column(column, justify="right")
    for size in found.transfers:
        table.add_row(
            f"{size.size_mib} MiB",
            str(size.runs),
            f"{size.copy_mbps:,.0f}",
            f"{size.upload_mbps:,.0f}",
            f"{size.upload_mbps / size.copy_mbps:.0%}",
            f"{size.download_mbps:,.0f}",
            f"{size.download_mbps / size.copy_mbps:.0%}",
        )
    out.print(table)
    both = found.concurrent
    out.print(
        f"{both.uploads} uploads of {both.size_mib} MiB at once: {both.seconds:.2f} s; hub RSS "
        f"{both.rss_start_mib:.0f} MiB at start, {both.rss_before_mib:.0f} MiB just before, "
        f"{both.rss_peak_mib:.0f} MiB at its peak "
        f"(+{both.rss_peak_mib - both.rss_before_mib:.0f} MiB)",
        highlight=False,
    )
    out.print(latency_table("Post latency while they run", (both.posts_idle, both.posts_loaded)))


def _git() -> str:
    try:
        head = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            cwd=BENCH_DIR,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head


def _plain(value: Any) -> Any:
    """Dataclasses as dicts, with their computed properties too (rate, acked, lost, …)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for name, member in vars(type(value)).items():
            if isinstance(member, property):
                data[name] = _plain(getattr(value, name))
        return data
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _post_json(results: Results, run: PostRun) -> dict[str, Any]:
    data: dict[str, Any] = _plain(run)
    insert = insert_ceiling(results, run)
    bare = bare_ceiling(results, run.wrk.connections)
    data["vs_insert_ceiling"] = run.wrk.rate / insert if insert else None
    data["vs_bare_ceiling"] = run.wrk.rate / bare if bare else None
    return data


def postgres_json(found: PostgresResults, http: dict[str, HttpCeiling] | None) -> dict[str, Any]:
    """The PostgreSQL comparison's numbers, each setup with its ratios."""
    data: dict[str, Any] = _plain(found)
    for setup, shown in zip(found.setups, data["setups"], strict=True):
        shown["ratios"] = ratios(found, setup, http)
    return data


def write_json(results: Results, path: Path) -> None:
    """Every number of the run, with the machine it ran on."""
    data = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "git": _git(),
        "machine": {
            "cpus": len(os.sched_getaffinity(0)),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
        },
        "config": _plain(results.config),
        "ceilings": {"sqlite_inserts": _plain(results.inserts), "http": _plain(results.http)},
        "posts": [_post_json(results, run) for run in results.posts or []],
        "reads": _plain(results.reads),
        "footprint": _plain(results.footprint),
        "realtime": _plain(results.realtime),
        "tasks": _plain(results.tasks),
        "postgres": postgres_json(results.postgres, results.http) if results.postgres else None,
        "hooks": _plain(results.hooks),
        "dashboard": _plain(results.dashboard),
        "files": _plain(results.files),
        "runner": _plain(results.runner),
        "operations": _plain(results.operations),
        "targets": _plain(targets(results)),
        "failed": results.failed,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
