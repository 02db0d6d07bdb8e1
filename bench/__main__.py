"""``python -m bench``: measure the ceilings and the hub in one run, print, save JSON."""

from __future__ import annotations

import sys
from pathlib import Path

from bench import (
    dashboard,
    footprint,
    hooks,
    postgres,
    reads,
    realtime,
    sqlite_inserts,
    tasks,
    throughput,
)
from bench.config import RESULTS, BenchConfig, scratch
from bench.progress import say
from bench.report import Results, print_tables, targets, write_json


def run(cfg: BenchConfig, workdir: Path) -> Results:
    """Every measurement: SQLite ceilings, throughput (HTTP ceilings and hub), real-time
    delivery (SSE), reads, footprint, tasks; then PostgreSQL (one and two hub processes) next
    to SQLite; then hooks and command start times; then the dashboard."""
    say(f"raw SQLite inserts, {cfg.raw_seconds:.1f} s per loop")
    inserts = sqlite_inserts.measure(workdir / "sqlite", cfg.raw_seconds)
    http, hub_posts = throughput.measure(cfg, workdir / "throughput")
    live = realtime.measure(cfg, workdir / "realtime")
    hub_reads = reads.measure(cfg, workdir / "reads")
    sizes = footprint.measure(cfg, workdir / "footprint")
    work = tasks.measure(cfg, workdir / "tasks")
    scale = postgres.measure(cfg, workdir / "postgres", work.claims)
    hooked = hooks.measure(cfg, workdir / "hooks")
    pages = dashboard.measure(cfg, workdir / "dashboard")
    return Results(
        cfg, inserts, http, hub_posts, hub_reads, sizes, live, work, scale, hooked, pages
    )


def main() -> int:
    """Run, report; exit 1 if an acknowledged post was lost (or, strict, a target missed)."""
    cfg = BenchConfig.from_env()
    if not cfg.wrk:
        print(
            "wrk is not installed (apt-get install wrk); `make bench` installs it", file=sys.stderr
        )
        return 2
    with scratch() as tmp:
        results = run(cfg, tmp)
    print_tables(results)
    write_json(results, RESULTS)
    print(f"\nwritten: {RESULTS}")
    if results.lost:
        print("FAILED: acknowledged posts are missing from the database", file=sys.stderr)
        return 1
    if cfg.strict and not all(t.met for t in targets(results)):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
