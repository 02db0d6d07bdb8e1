"""``GET /metrics``: the hub's figures in the Prometheus text format (``prometheus-client``).

Two kinds of figure. Requests are observed as they finish — route template, method and
status, with a latency histogram — by :class:`Metrics`, which the app calls around every
HTTP request. Everything else is read when scraped, from the plain counters the core and
the store keep as they work (``core/telemetry.py``: the writer's batches, commits and queue,
PostgreSQL's write-lock waits and pool, events by type, live streams, rate-limit refusals)
and from two small counts in the database (tasks by state, webhook deliveries by state).
Each hub app has a registry of its own, so several hubs in one process never mix figures.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from hubbub import __version__
from hubbub.core import events
from hubbub.core.errors import HubbubError
from hubbub.core.models import HubCounts
from hubbub.core.telemetry import Buckets
from hubbub.server import endpoints, problems

if TYPE_CHECKING:
    from hubbub.core.hub import Hub
    from hubbub.core.ratelimit import RateLimiter

LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Methods a label may name: any other token a client sends is counted as "other", so a client
# cannot grow the number of series.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
MCP_PATH = "/mcp"


class Metrics:
    """The figures of one hub app, and its ``/metrics`` endpoint."""

    def __init__(self, hub: Hub, limiter: RateLimiter) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._latency = Histogram(
            "hubbub_http_request_duration_seconds",
            "HTTP requests by route template, method and status, and how long each took "
            "(a stream counts when it ends).",
            ["route", "method", "status"],
            buckets=LATENCY,
            registry=self.registry,
        )
        self._series: dict[tuple[str, str, int], Histogram] = {}
        self.in_progress: dict[str, int] = {}
        self._state = _State(hub, limiter, self.in_progress)
        self.registry.register(self._state)

    def started(self, watched: str) -> float:
        """Note a request begun, in progress under ``watched``; the time to pass on."""
        self.in_progress[watched] = self.in_progress.get(watched, 0) + 1
        return time.perf_counter()

    def finished(self, watched: str, route: str, method: str, status: int, began: float) -> None:
        """Count a request to ``route`` answered with ``status`` (0: no answer began)."""
        self.in_progress[watched] -= 1
        key = (route, method, status)
        series = self._series.get(key)
        if series is None:
            shown = method if method in METHODS else "other"
            series = self._series[key] = self._latency.labels(
                route, shown, str(status) if status else "none"
            )
        series.observe(time.perf_counter() - began)

    async def endpoint(self, request: Request) -> Response:
        """``GET /metrics``: for the admin key, or a token with the ``metrics:read`` scope."""
        hub: Hub = request.app.state.hub
        try:
            await endpoints.authenticate(request, hub, "admin", "metrics:read")
            counts = await hub.store.counts(everything=False)
        except HubbubError as error:  # a refusal, or the database's trouble
            return problems.from_error(error, request.url.path)
        self._state.counts = counts  # read by the collector below, with no await between
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class _State(Collector):
    """The figures read at each scrape."""

    def __init__(self, hub: Hub, limiter: RateLimiter, in_progress: dict[str, int]) -> None:
        self._hub = hub
        self._limiter = limiter
        self._in_progress = in_progress
        self.counts: HubCounts | None = None

    def describe(self) -> list[Metric]:
        return []  # families vary (PostgreSQL's only on PostgreSQL): described by collecting

    def collect(self) -> Iterator[Metric]:
        hub = self._hub
        info = GaugeMetricFamily("hubbub_info", "This hub process.", labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        yield GaugeMetricFamily(
            "hubbub_start_time_seconds",
            "When this hub process started, in seconds since the epoch.",
            value=hub.started_at.timestamp(),
        )
        written = CounterMetricFamily(
            "hubbub_events_written", "Events this process committed, by type.", labels=["type"]
        )
        for kind, count in sorted(hub.events_written.by_type.items()):
            written.add_metric([kind], count)
        yield written
        yield CounterMetricFamily(
            "hubbub_messages_posted",
            "Messages this process posted (sends count once per destination).",
            value=hub.events_written.by_type.get(events.MESSAGE_POSTED, 0),
        )
        yield GaugeMetricFamily(
            "hubbub_event_streams",
            "Event streams open on this process (API and dashboard).",
            value=hub.feed.streams,
        )
        active = GaugeMetricFamily(
            "hubbub_http_requests_in_progress",
            "Requests being answered now, by route template (streams included).",
            labels=["route"],
        )
        for route, count in sorted(self._in_progress.items()):
            active.add_metric([route], count)
        yield active
        yield GaugeMetricFamily(
            "hubbub_mcp_sessions",
            "MCP sessions over HTTP now: /mcp keeps no session between requests, so each "
            "request in progress is one.",
            value=self._in_progress.get(MCP_PATH, 0),
        )
        yield CounterMetricFamily(
            "hubbub_rate_limited",
            "Requests refused by the per-key rate limit (429).",
            value=self._limiter.refused,
        )
        yield from _writer(hub)
        if self.counts is not None:
            tasks = GaugeMetricFamily("hubbub_tasks", "Tasks by state.", labels=["state"])
            for state, count in sorted(self.counts.tasks.items()):
                tasks.add_metric([state], count)
            yield tasks
            deliveries = GaugeMetricFamily(
                "hubbub_webhook_deliveries",
                "Webhook deliveries kept, by state: pending is the backlog, dead the failures.",
                labels=["state"],
            )
            for state in ("pending", "delivered", "dead"):
                deliveries.add_metric([state], self.counts.webhook_deliveries.get(state, 0))
            yield deliveries


def _writer(hub: Hub) -> Iterator[Metric]:
    """The write path's figures: SQLite's writer thread, or PostgreSQL's writer and pool."""
    writer = hub.store.telemetry
    yield GaugeMetricFamily(
        "hubbub_writer_up",
        "1 while the writer commits; 0 after the database refused its last batch.",
        value=0 if writer.failing else 1,
    )
    yield GaugeMetricFamily(
        "hubbub_writer_queue_depth", "Writes waiting for the writer.", value=writer.queued()
    )
    yield CounterMetricFamily(
        "hubbub_writer_batches", "Batches the writer ran (group commit).", value=writer.batches
    )
    yield CounterMetricFamily(
        "hubbub_writer_writes", "Writes the writer ran, in all batches.", value=writer.writes
    )
    yield CounterMetricFamily(
        "hubbub_writer_refused_batches",
        "Batches the database refused as a whole (disk full, read-only, locked…).",
        value=writer.refused_batches,
    )
    yield _histogram("hubbub_writer_batch_size", "Writes per committed batch.", writer.batch_sizes)
    yield _histogram(
        "hubbub_writer_commit_seconds",
        "Time to run and commit a batch (SQLite: fsync included).",
        writer.commit_seconds,
    )
    if writer.lock_wait_seconds is not None:
        yield _histogram(
            "hubbub_postgres_write_lock_wait_seconds",
            "Time each batch waited for the cluster-wide write lock.",
            writer.lock_wait_seconds,
        )
    if writer.pool is not None:
        figures = writer.pool()
        pool = GaugeMetricFamily(
            "hubbub_postgres_pool_connections",
            "Reader pool connections: open, and idle among them.",
            labels=["state"],
        )
        pool.add_metric(["open"], figures.get("size", 0))
        pool.add_metric(["idle"], figures.get("available", 0))
        yield pool
        yield GaugeMetricFamily(
            "hubbub_postgres_pool_waiting",
            "Reads waiting for a pool connection.",
            value=figures.get("waiting", 0),
        )


def _histogram(name: str, documentation: str, buckets: Buckets) -> HistogramMetricFamily:
    return HistogramMetricFamily(
        name,
        documentation,
        buckets=[(_bound(bound), count) for bound, count in buckets.cumulative()],
        sum_value=buckets.sum,
    )


def _bound(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(float(bound))
