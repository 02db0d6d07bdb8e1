"""Start-up time and idle memory of the hub, next to the bare ceiling server's.

Start-up is the time from spawning the process to its first healthy ``/api/v1/health``
answer; the median of several starts on an existing database is reported (the very first
start, which also creates the database and the keys, is reported on its own). Idle RSS is
VmRSS of a freshly started process after a handful of requests.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import processes
from bench.config import BenchConfig
from bench.progress import say


@dataclass(frozen=True, slots=True)
class Footprint:
    """One server program's start-up times (seconds) and idle memory (MiB)."""

    name: str
    starts: list[float]
    idle_rss_mb: float
    first_start: float | None = None

    @property
    def start_median(self) -> float:
        return statistics.median(self.starts)


def _exercise(server: processes.HubServer) -> None:
    """A few ordinary requests: post, read, search, health."""
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=30) as client:
        for i in range(3):
            posted = client.post(
                "/api/v1/channels/general/messages", json={"content": f"hello {i}"}
            )
            posted.raise_for_status()
        client.get("/api/v1/channels/general/messages?limit=50").raise_for_status()
        client.get("/api/v1/search", params={"q": "hello"}).raise_for_status()
        client.get(processes.HEALTH).raise_for_status()


def hub(cfg: BenchConfig, workdir: Path) -> Footprint:
    """The hub: one first start, then ``cfg.starts`` timed starts on the same database."""
    db = workdir / "hub.db"
    with processes.hub(workdir, db) as first:
        first_start = first.server.ready_seconds
    starts: list[float] = []
    rss = 0.0
    for _ in range(cfg.starts):
        with processes.hub(workdir, db) as server:
            starts.append(server.server.ready_seconds)
            _exercise(server)
            rss = server.server.rss_mb()
    return Footprint("hubbub serve", starts, rss, first_start)


def bare(cfg: BenchConfig, workdir: Path) -> Footprint:
    """The bare ceiling server, the floor for both numbers."""
    starts: list[float] = []
    rss = 0.0
    for _ in range(cfg.starts):
        with (
            processes.ceiling(workdir, "bare") as server,
            httpx.Client(base_url=server.url, timeout=30) as client,
        ):
            starts.append(server.ready_seconds)
            for _ in range(5):
                client.get("/api/v1/ping").raise_for_status()
            rss = server.rss_mb()
    return Footprint("bare Starlette", starts, rss)


def measure(cfg: BenchConfig, workdir: Path) -> list[Footprint]:
    """The hub's footprint and the bare server's."""
    say(f"footprint: {cfg.starts} starts each of the hub and the bare server")
    return [hub(cfg, workdir / "hub"), bare(cfg, workdir / "bare")]
