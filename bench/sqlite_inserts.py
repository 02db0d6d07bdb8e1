"""Ceiling (c): raw SQLite inserts from Python, with the hub's pragmas, no HTTP at all.

One row per transaction is what a naive server does per request; 1,000 rows per transaction
is the most a group-committing writer could reach, since it too runs one ``execute`` a row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from hubbub.store.sqlite.engine import connect

BATCH = 1000
CONTENT = "Build 4711 is green on staging; rolling the migration out to the canary hosts next."


@dataclass(frozen=True, slots=True)
class InsertRate:
    """Rows a second committed by one loop."""

    synchronous: str
    rows_per_txn: int
    rows: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def _loop(path: Path, synchronous: str, rows_per_txn: int, seconds: float) -> InsertRate:
    conn = connect(path, synchronous=synchronous)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(
        "CREATE TABLE messages (id INTEGER PRIMARY KEY, content TEXT NOT NULL, "
        "created_at INTEGER NOT NULL)"
    )
    sql = "INSERT INTO messages (content, created_at) VALUES (?, ?)"
    rows = 0
    started = time.perf_counter()
    deadline = started + seconds
    try:
        while time.perf_counter() < deadline:
            conn.execute("BEGIN IMMEDIATE")
            for _ in range(rows_per_txn):
                conn.execute(sql, (CONTENT, time.time_ns() // 1000))
            conn.execute("COMMIT")
            rows += rows_per_txn
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
    return InsertRate(synchronous, rows_per_txn, rows, elapsed)


def measure(workdir: Path, seconds: float) -> list[InsertRate]:
    """Both batch sizes at NORMAL and FULL, each into a fresh file in ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    for synchronous in ("NORMAL", "FULL"):
        for rows_per_txn in (1, BATCH):
            path = workdir / f"raw-{synchronous.lower()}-{rows_per_txn}.db"
            results.append(_loop(path, synchronous, rows_per_txn, seconds))
    return results
