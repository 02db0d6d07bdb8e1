"""Hub post throughput under wrk, and the check that no acknowledged post was lost.

Each run gets a fresh database and a fresh ``hubbub serve``; after wrk ends the hub is
stopped (which drains its writer) and the messages table is counted with a separate SQLite
connection. Every 2xx must be a row. A few rows more than 2xx are expected: requests still in
flight when wrk stops are committed by the hub but their answers are never read.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from bench import load, processes
from bench.config import BenchConfig
from bench.progress import say


@dataclass(frozen=True, slots=True)
class PostRun:
    """One wrk run against the hub and its durability check."""

    synchronous: str
    wrk: load.WrkRun
    acked: int
    """2xx answers, warm-up included."""
    rows: int
    """Messages in the database after the hub stopped."""

    @property
    def lost(self) -> int:
        """Acknowledged posts missing from the database: must be 0."""
        return max(0, self.acked - self.rows)

    @property
    def unanswered(self) -> int:
        """Rows committed whose answer wrk never read (in flight when it stopped)."""
        return max(0, self.rows - self.acked)


def count_messages(db: Path) -> int:
    """Rows in the hub's messages table."""
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT count(*) FROM messages").fetchone()[0])
    finally:
        conn.close()


def one_run(cfg: BenchConfig, workdir: Path, synchronous: str, clients: int) -> PostRun:
    """A fresh hub, a warm-up, one wrk run, a stop and a count."""
    db = workdir / "hub.db"
    with processes.hub(workdir, db, synchronous=synchronous) as hub:
        acked = load.warm_up(hub.url, hub.headers, cfg.warmup)
        say(f"hub posts synchronous={synchronous}: wrk, {clients} connections, {cfg.seconds} s")
        run = load.wrk(cfg, hub.url, clients, hub.headers, hub.server.pid)
    rows = count_messages(db)
    return PostRun(synchronous, run, acked + run.acked, rows)
