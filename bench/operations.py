"""Running a hub for real: what watching it costs — wrk's post run at the highest client count
while a scraper reads ``/metrics`` every second, against the same run with nobody scraping
(interleaved rounds on one hub, so the two sides share the machine's mood) — and what a backup
of the seeded database and a prune of it under retention cost: their time and throughput, and
the longest post while each runs."""

from __future__ import annotations

import sqlite3
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from bench import load, processes, seed
from bench.config import BenchConfig
from bench.corpus import Corpus
from bench.load import WrkRun
from bench.progress import say
from bench.rawhttp import Poster
from hubbub.store import backup as backups

SCRAPE_SECONDS = 1.0
DAY_US = 86_400 * 1_000_000


@dataclass(frozen=True, slots=True)
class MetricsLoad:
    """Post runs with and without a scraper, and the scrapes' own times."""

    clients: int
    quiet: list[WrkRun]
    scraped: list[WrkRun]
    scrape_ms: list[float] = field(default_factory=list)

    @staticmethod
    def _rate(runs: list[WrkRun]) -> float:
        return statistics.median(run.rate for run in runs)

    @property
    def ratio(self) -> float:
        """Median posts/s while scraped ÷ median posts/s with nobody scraping."""
        quiet = self._rate(self.quiet)
        return self._rate(self.scraped) / quiet if quiet else 0.0

    def cpu_us(self, scraped: bool) -> float:
        """Median server CPU microseconds per post (event loop and threads)."""
        runs = self.scraped if scraped else self.quiet
        return statistics.median(run.loop_us + run.threads_us for run in runs)


@dataclass(frozen=True, slots=True)
class BackupRun:
    """One backup of the seeded database while one client posts, one post after another."""

    messages: int
    megabytes: float
    seconds: float
    posts_before_ms: list[float]
    """Post latencies in the second before the backup began."""
    posts_during_ms: list[float]

    @property
    def rate(self) -> float:
        return self.megabytes / self.seconds if self.seconds else 0.0


@dataclass(frozen=True, slots=True)
class RetentionRun:
    """One prune of every seeded message (all past a channel's retention) while one client
    posts, one post after another."""

    removed: int
    seconds: float
    posts_before_ms: list[float]
    posts_during_ms: list[float]


@dataclass(frozen=True, slots=True)
class OperationsResults:
    metrics: MetricsLoad
    backup: BackupRun
    retention: RetentionRun


class _Timer(threading.Thread):
    """Posts one message after another until stopped, timing each."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self._poster = Poster(url, headers)
        self._done = threading.Event()
        self.timed: list[tuple[float, float]] = []
        """(when it was answered, milliseconds it took), by ``time.perf_counter``."""

    def run(self) -> None:
        with self._poster as poster:
            while not self._done.is_set():
                prepared = poster.prepare(b'{"content": "a post during the backup"}')
                began = time.perf_counter()
                status, body = poster.send(prepared)
                ended = time.perf_counter()
                if status != 201:
                    raise RuntimeError(f"a post was answered {status}: {body[:200]!r}")
                self.timed.append((ended, 1000 * (ended - began)))

    def stop(self) -> None:
        self._done.set()
        self.join()

    def between(self, start: float, end: float) -> list[float]:
        return [ms for when, ms in self.timed if start <= when <= end]


def backup_under_load(cfg: BenchConfig, workdir: Path) -> BackupRun:
    """Seed ``cfg.messages`` messages, serve them, and back the file up while posting."""
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "hub.db"
    say(f"backup: seeding {cfg.messages:,} messages")
    seed.seed(db, Corpus(cfg.messages).messages)
    with processes.hub(workdir, db) as hub:
        load.warm_up(hub.url, hub.headers, cfg.warmup)
        timer = _Timer(hub.url, hub.headers)
        timer.start()
        try:
            time.sleep(1.0)
            say("backup: copying while one client posts")
            began = time.perf_counter()
            made = backups.backup(str(db), workdir / "copy.db")
            ended = time.perf_counter()
            time.sleep(0.2)
        finally:
            timer.stop()
    return BackupRun(
        cfg.messages,
        made.bytes / 1e6,
        made.seconds,
        timer.between(began - 1.0, began),
        timer.between(began, ended + 0.1),
    )


def retention_under_load(cfg: BenchConfig, workdir: Path) -> RetentionRun:
    """Seed ``cfg.messages`` messages 40 days old, serve them, give their channel a 30-day
    retention and prune while one client posts (in another channel's index, the same table)."""
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "hub.db"
    say(f"retention: seeding {cfg.messages:,} messages, 40 days old")
    seed.seed(db, Corpus(cfg.messages).messages, channel="project-archive")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE messages SET created_at = created_at - :back", {"back": 40 * DAY_US})
    with processes.hub(workdir, db) as hub:
        if hub.admin_key is None:
            raise RuntimeError("the hub wrote no admin key")
        admin = {"Authorization": f"Bearer {hub.admin_key}"}
        load.warm_up(hub.url, hub.headers, cfg.warmup)
        timer = _Timer(hub.url, hub.headers)
        timer.start()
        try:
            time.sleep(1.0)
            with httpx.Client(base_url=hub.url, headers=admin, timeout=600) as http:
                rule = http.put(
                    "/api/v1/admin/channels/project-archive/retention", json={"retention_days": 30}
                )
                rule.raise_for_status()
                say("retention: pruning while one client posts")
                began = time.perf_counter()
                answer = http.post("/api/v1/admin/retention/prune")
                ended = time.perf_counter()
                answer.raise_for_status()
            time.sleep(0.2)
        finally:
            timer.stop()
    removed = sum(rule["messages"] for rule in answer.json()["rules"])
    return RetentionRun(
        removed,
        ended - began,
        timer.between(began - 1.0, began),
        timer.between(began, ended + 0.1),
    )


def measure(cfg: BenchConfig, workdir: Path) -> OperationsResults:
    """Posts with and without a metrics scraper, then a backup and a prune under a post load."""
    return OperationsResults(
        metrics_load(cfg, workdir / "metrics"),
        backup_under_load(cfg, workdir / "backup"),
        retention_under_load(cfg, workdir / "retention"),
    )


class _Scraper(threading.Thread):
    """GET /metrics every second until stopped, timing each."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self._url = url
        self._headers = headers
        self._done = threading.Event()
        self.times_ms: list[float] = []
        self.failures: list[str] = []

    def run(self) -> None:
        with httpx.Client(timeout=30.0) as http:
            while not self._done.wait(SCRAPE_SECONDS):
                began = time.perf_counter()
                answer = http.get(self._url, headers=self._headers)
                if answer.status_code != 200:
                    self.failures.append(f"{answer.status_code} {answer.text[:200]}")
                    continue
                self.times_ms.append(1000 * (time.perf_counter() - began))

    def stop(self) -> None:
        self._done.set()
        self.join()
        if self.failures:
            raise RuntimeError(f"scrapes failed: {self.failures[0]}")


def metrics_load(cfg: BenchConfig, workdir: Path) -> MetricsLoad:
    """Rounds of (quiet, scraped) wrk post runs on one hub at the highest client count."""
    clients = max(cfg.clients)
    rounds = 2 if cfg.seconds <= 2 else 5
    quiet: list[WrkRun] = []
    scraped: list[WrkRun] = []
    scrape_ms: list[float] = []
    with processes.hub(workdir, workdir / "hub.db") as hub:
        if hub.admin_key is None:
            raise RuntimeError("the hub wrote no admin key to scrape with")
        admin = {"Authorization": f"Bearer {hub.admin_key}"}
        load.warm_up(hub.url, hub.headers, cfg.warmup)
        for turn in range(rounds):
            say(f"metrics: round {turn + 1}/{rounds}, wrk {clients} connections, not scraped")
            quiet.append(load.wrk(cfg, hub.url, clients, hub.headers, hub.server.pid))
            say(f"metrics: round {turn + 1}/{rounds}, scraped every {SCRAPE_SECONDS:g} s")
            scraper = _Scraper(f"{hub.url}/metrics", admin)
            scraper.start()
            try:
                scraped.append(load.wrk(cfg, hub.url, clients, hub.headers, hub.server.pid))
            finally:
                scraper.stop()
            scrape_ms += scraper.times_ms
    return MetricsLoad(clients, quiet, scraped, scrape_ms)


def print_operations(results: OperationsResults, out: Console) -> None:
    """Posts with and without a scraper; a backup under load."""
    _print_metrics(results.metrics, out)
    run = results.backup
    table = Table(
        title=f"Backup of {run.messages:,} messages (SQLite, FULL) while one client posts",
        title_justify="left",
    )
    for column in ("MB", "seconds", "MB/s", "posts during", "post p50 before", "p50 during"):
        table.add_column(column, justify="right")
    table.add_column("longest post during", justify="right")
    table.add_row(
        f"{run.megabytes:,.1f}",
        f"{run.seconds:.2f}",
        f"{run.rate:,.0f}",
        str(len(run.posts_during_ms)),
        _median(run.posts_before_ms),
        _median(run.posts_during_ms),
        f"{max(run.posts_during_ms):.1f} ms" if run.posts_during_ms else "-",
    )
    out.print(table)
    pruned = results.retention
    table = Table(
        title="Retention: every seeded message pruned (500 a write) while one client posts",
        title_justify="left",
    )
    for column in ("removed", "seconds", "removed/s", "posts during", "post p50 before"):
        table.add_column(column, justify="right")
    table.add_column("p50 during", justify="right")
    table.add_column("longest post during", justify="right")
    table.add_row(
        f"{pruned.removed:,}",
        f"{pruned.seconds:.2f}",
        f"{pruned.removed / pruned.seconds:,.0f}" if pruned.seconds else "-",
        str(len(pruned.posts_during_ms)),
        _median(pruned.posts_before_ms),
        _median(pruned.posts_during_ms),
        f"{max(pruned.posts_during_ms):.1f} ms" if pruned.posts_during_ms else "-",
    )
    out.print(table)


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ms" if values else "-"


def _print_metrics(found: MetricsLoad, out: Console) -> None:
    title = (
        f"Monitoring: posts/s at {found.clients} clients with /metrics scraped every "
        f"{SCRAPE_SECONDS:g} s, interleaved rounds (FULL)"
    )
    table = Table(title=title, title_justify="left")
    for column in ("scraper", "rounds", "posts/s (each)", "median", "CPU µs/post", "p99 ms"):
        table.add_column(column, justify="right")
    for label, runs, scraped in (("none", found.quiet, False), ("1/s", found.scraped, True)):
        table.add_row(
            label,
            str(len(runs)),
            ", ".join(f"{run.rate:,.0f}" for run in runs),
            f"{MetricsLoad._rate(runs):,.0f}",
            f"{found.cpu_us(scraped):.0f}",
            f"{statistics.median(run.p99_ms for run in runs):.1f}",
        )
    out.print(table)
    if found.scrape_ms:
        median = statistics.median(found.scrape_ms)
        out.print(
            f"scraped / not: {found.ratio:.1%}; a scrape took {median:.1f} ms (median of "
            f"{len(found.scrape_ms)}), {max(found.scrape_ms):.1f} ms at most",
            highlight=False,
        )
