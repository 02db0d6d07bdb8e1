"""Ceilings (a) and (b): a Starlette endpoint under the hub's uvicorn settings, bare and
inserting one SQLite row per request (servers in :mod:`bench.ceiling_app`)."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from bench import load, processes
from bench.config import BenchConfig
from bench.progress import say

SERVERS = (
    ("bare", "bare", "FULL"),
    ("insert-NORMAL", "insert", "NORMAL"),
    ("insert-FULL", "insert", "FULL"),
)


@dataclass(frozen=True, slots=True)
class HttpCeiling:
    """One ceiling server's wrk runs, by client count."""

    name: str
    runs: dict[int, load.WrkRun] = field(default_factory=dict)


class CeilingServers:
    """Every ceiling server, started and warmed up at once. Idle, they cost no CPU, so they
    can wait while the hub is measured between their runs."""

    def __init__(self, cfg: BenchConfig, workdir: Path, stack: ExitStack) -> None:
        self._cfg = cfg
        self._servers: dict[str, processes.Server] = {}
        self.results: dict[str, HttpCeiling] = {}
        for name, mode, synchronous in SERVERS:
            server = stack.enter_context(
                processes.ceiling(workdir / name, mode, synchronous=synchronous)
            )
            load.warm_up(server.url, {}, cfg.warmup)
            self._servers[name] = server
            self.results[name] = HttpCeiling(name)

    def measure(self, name: str, clients: int) -> load.WrkRun:
        """One wrk run against the ceiling ``name``."""
        say(f"ceiling {name}: wrk, {clients} connections, {self._cfg.seconds} s")
        server = self._servers[name]
        run = load.wrk(self._cfg, server.url, clients, {}, server.pid)
        self.results[name].runs[clients] = run
        return run
