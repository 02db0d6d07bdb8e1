"""Make the databases the upgrade test opens: a hub populated with the moving tests' scene,
on SQLite (the database file) and on PostgreSQL (a ``pg_dump``), with the scene's keys and
what each agent saw.

Run it with a release's source first on the path, so that release writes the databases::

    git worktree add /tmp/release v0.1.0
    PYTHONPATH=/tmp/release/src:/tmp/release .venv/bin/python scripts/release_databases.py \\
        tests/data/release-0.1.0
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.moving import populate, running, views
from tests.postgres import SUPERUSER, session_cluster


def plain(value: Any) -> Any:
    """``value`` as JSON holds it (what the upgrade test compares)."""
    return json.loads(json.dumps(value, default=str))


async def capture(db: str) -> dict[str, Any]:
    async with running(db) as hub:
        scene = await populate(hub)
        seen = await views(hub, scene, same_engine=True)
    return {"scene": dataclasses.asdict(scene), "views": plain(seen)}


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        db = Path(scratch) / "hub.db"
        captured = asyncio.run(capture(str(db)))
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("VACUUM")
        with db.open("rb") as source, gzip.open(out / "hub.db.gz", "wb") as target:
            shutil.copyfileobj(source, target)
        (out / "sqlite.json").write_text(json.dumps(captured, indent=1, ensure_ascii=False))

    with session_cluster() as cluster:
        name = cluster.new_database()
        captured = asyncio.run(capture(cluster.url(name)))
        dump = subprocess.run(
            [str(cluster.bindir / "pg_dump"), "--no-owner", "--no-privileges", "-U", SUPERUSER,
             "-h", str(cluster.socket_dir), "-p", str(cluster.port), name],
            capture_output=True, check=True,
        )  # fmt: skip
        with gzip.open(out / "hub.pg.sql.gz", "wb") as target:
            target.write(dump.stdout)
        (out / "postgres.json").write_text(json.dumps(captured, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
