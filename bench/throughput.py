"""Post throughput: the hub and its HTTP ceilings, interleaved by client count, so each ratio
compares wrk runs made seconds apart rather than minutes apart on a noisy machine."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from bench import ceilings, posts
from bench.config import BenchConfig


def measure(
    cfg: BenchConfig, workdir: Path
) -> tuple[dict[str, ceilings.HttpCeiling], list[posts.PostRun]]:
    """For each client count: bare, insert/request at FULL, the hub at FULL. Then, at the
    highest count only: insert/request at NORMAL and the hub at NORMAL."""
    hub_runs: list[posts.PostRun] = []
    with ExitStack() as stack:
        servers = ceilings.CeilingServers(cfg, workdir / "ceilings", stack)
        for clients in cfg.clients:
            servers.measure("bare", clients)
            servers.measure("insert-FULL", clients)
            hub_runs.append(posts.one_run(cfg, workdir / f"hub-full-{clients}", "FULL", clients))
        most = max(cfg.clients)
        servers.measure("insert-NORMAL", most)
        hub_runs.append(posts.one_run(cfg, workdir / f"hub-normal-{most}", "NORMAL", most))
    return servers.results, hub_runs
