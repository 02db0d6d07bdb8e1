"""Read latency in a large channel: the latest page, a page from the middle, and search.

The channel is seeded through the real core (:mod:`bench.seed`), then a real ``hubbub serve``
answers sequential requests from one keep-alive httpx client, timed end to end. The same
client against the bare ceiling server's ``GET /api/v1/ping`` gives the floor: what the
client, the loopback and uvicorn cost before the hub does any work.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from tests.postgres import find_bindir, running_cluster

from bench import processes, seed
from bench.config import BenchConfig
from bench.corpus import Corpus, Query
from bench.progress import say

MESSAGES = "/api/v1/channels/general/messages"


@dataclass(frozen=True, slots=True)
class Latency:
    """Percentiles of one kind of request, in milliseconds."""

    name: str
    samples: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ReadResults:
    """Everything the read benchmark measured."""

    seeded: seed.Seeded
    floor: Latency
    kinds: list[Latency]
    queries: list[Query] = field(default_factory=list)
    postgres: list[Latency] = field(default_factory=list)
    """The same searches on PostgreSQL (empty when it is not installed)."""


def percentile(ordered: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of sorted values."""
    index = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


def summarize(name: str, seconds: Sequence[float], detail: str = "") -> Latency:
    ordered = sorted(s * 1000 for s in seconds)
    return Latency(
        name,
        len(ordered),
        percentile(ordered, 0.50),
        percentile(ordered, 0.95),
        percentile(ordered, 0.99),
        detail,
    )


def timed(client: httpx.Client, url: str, check: Callable[[httpx.Response], None]) -> float:
    """Seconds one GET took, end to end; the answer is checked after the clock stops."""
    started = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - started
    check(response)
    return elapsed


def _sample(
    client: httpx.Client,
    urls: Sequence[str],
    count: int,
    check: Callable[[httpx.Response], None],
    warmup: int,
) -> list[float]:
    for i in range(warmup):
        timed(client, urls[i % len(urls)], check)
    return [timed(client, urls[i % len(urls)], check) for i in range(count)]


def _page_of(size: int) -> Callable[[httpx.Response], None]:
    def check(response: httpx.Response) -> None:
        response.raise_for_status()
        got = len(response.json()["messages"])
        if got != size:
            raise RuntimeError(f"expected a page of {size} messages, got {got}")

    return check


def _hits(response: httpx.Response) -> None:
    response.raise_for_status()
    if not response.json()["hits"]:
        raise RuntimeError(f"search found nothing: {response.url}")


def _ok(response: httpx.Response) -> None:
    response.raise_for_status()


def floor(cfg: BenchConfig, workdir: Path) -> Latency:
    """The same client against the bare ceiling server."""
    with (
        processes.ceiling(workdir, "bare") as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        seconds = _sample(client, ["/api/v1/ping"], cfg.samples, _ok, cfg.warmup)
    return summarize("floor: bare GET", seconds, "httpx + uvicorn, no work")


def measure(cfg: BenchConfig, workdir: Path) -> ReadResults:
    """Seed ``cfg.messages`` messages, then time reads and searches on a real hub."""
    workdir.mkdir(parents=True, exist_ok=True)
    say(f"reads: generating {cfg.messages:,} messages")
    corpus = Corpus(cfg.messages)
    queries = corpus.queries()
    db = workdir / "hub.db"
    say(f"reads: seeding {cfg.messages:,} messages through the core")
    seeded = seed.seed(db, corpus.messages)
    say(f"reads: seeded at {seeded.rate:,.0f} posts/s; timing reads")
    middle = cfg.messages // 2
    page = _page_of(50)
    kinds: list[Latency] = []
    with (
        processes.hub(workdir, db) as hub,
        httpx.Client(base_url=hub.url, headers=hub.headers, timeout=30) as client,
    ):
        latest = _sample(client, [f"{MESSAGES}?limit=50"], cfg.samples, page, cfg.warmup)
        kinds.append(summarize("latest 50", latest, f"of {cfg.messages:,}"))
        mid = _sample(
            client, [f"{MESSAGES}?before={middle}&limit=50"], cfg.samples, page, cfg.warmup
        )
        kinds.append(summarize("middle page", mid, f"before={middle}, limit 50"))
        kinds += searches(cfg, client, queries)
    postgres: list[Latency] = []
    if find_bindir() is not None:
        postgres = postgres_searches(cfg, workdir / "postgres", corpus, queries)
    return ReadResults(seeded, floor(cfg, workdir / "floor"), kinds, queries, postgres)


def searches(cfg: BenchConfig, client: httpx.Client, queries: Sequence[Query]) -> list[Latency]:
    """Each query's latency, and all of them together."""
    per_query = cfg.samples // 2
    kinds: list[Latency] = []
    every: list[float] = []
    for query in queries:
        url = str(httpx.URL("/api/v1/search", params={"q": query.text}))
        seconds = _sample(client, [url], per_query, _hits, cfg.warmup // 4)
        every += seconds
        share = query.matches / cfg.messages
        detail = f"{query.kind}, {query.matches:,} matches ({share:.1%})"
        kinds.append(summarize(f"search {query.text!r}", seconds, detail))
    kinds.append(summarize("search (all)", every, f"{len(queries)} queries, top 20"))
    return kinds


def postgres_searches(
    cfg: BenchConfig, workdir: Path, corpus: Corpus, queries: Sequence[Query]
) -> list[Latency]:
    """The same corpus seeded into PostgreSQL (durable settings), the same searches."""
    workdir.mkdir(parents=True, exist_ok=True)
    with running_cluster(durable=True) as cluster:
        cluster.execute("CREATE DATABASE reads")
        url = cluster.url("reads")
        say(f"reads: seeding {cfg.messages:,} messages into PostgreSQL")
        seed.seed(url, corpus.messages)
        cluster.execute("VACUUM ANALYZE", dbname="reads")
        say("reads: timing searches on PostgreSQL")
        with (
            processes.hub(workdir, url) as hub,
            httpx.Client(base_url=hub.url, headers=hub.headers, timeout=30) as client,
        ):
            return searches(cfg, client, queries)
