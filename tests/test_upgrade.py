"""Databases written by the last release open under this one, migrate in place, and serve
what they served: every agent's reads, searches, streams and tasks, byte for byte.

``tests/data/release-0.1.0`` holds what ``scripts/release_databases.py`` made with that
release's code: a SQLite file, a PostgreSQL dump, the scene's keys and each agent's views."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.moving import Scene, differences, running, views
from tests.postgres import Cluster

pytestmark = pytest.mark.anyio

RELEASE = Path(__file__).parent / "data" / "release-0.1.0"
ADDED = {"users": {"admin": False}, "*/board/me": {"runner": False}}
"""Fields this build answers that the release did not, per view (``*/a/b``: the object at
``a/b`` in every agent's views), with the value each row upgraded from the release must
hold."""


async def serves_the_same(db: str, engine: str) -> None:
    saved = json.loads((RELEASE / f"{engine}.json").read_text())
    scene = Scene(**saved["scene"])
    async with running(db, scene) as hub:
        after = json.loads(json.dumps(await views(hub, scene, same_engine=True), default=str))
        for view, fields in ADDED.items():
            for row in rows_of(after, view):
                assert {name: row.pop(name) for name in fields} == fields
        assert not differences(ties_sorted(saved["views"]), ties_sorted(after))
        # It takes writes, and new rows follow the old ones.
        alpha = await hub.agent("lap-alpha")
        posted = await alpha.say("general", "first words after the upgrade")
        newest = max(m["id"] for m in saved["views"]["lap-alpha"]["#general"])
        assert posted["id"] > newest
        task = await alpha.ok("POST", "/tasks", {"title": "After", "target": "#general"})
        assert task["id"] > max(scene.tasks.values())


async def test_a_sqlite_database_from_the_last_release_serves_the_same(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    with gzip.open(RELEASE / "hub.db.gz") as source, db.open("wb") as target:
        shutil.copyfileobj(source, target)
    await serves_the_same(str(db), "sqlite")


@pytest.mark.postgres
async def test_a_postgres_database_from_the_last_release_serves_the_same(
    postgres: Cluster,
) -> None:
    name = postgres.create_database(template=None)
    try:
        restore(postgres, name, gzip.decompress((RELEASE / "hub.pg.sql.gz").read_bytes()))
        await serves_the_same(postgres.url(name), "postgres")
    finally:
        postgres.drop_database(name)


def rows_of(seen: dict[str, Any], view: str) -> list[dict[str, Any]]:
    """The rows ``view`` names in ``seen``: a top-level list, or with ``*/a/b`` the object at
    ``a/b`` of each agent's views."""
    if not view.startswith("*/"):
        return list(seen[view])
    found: list[dict[str, Any]] = []
    for mine in seen.values():
        for step in view.split("/")[1:]:
            mine = mine.get(step) if isinstance(mine, dict) else None
        if isinstance(mine, dict):
            found.append(mine)
    return found


def ties_sorted(seen: dict[str, Any]) -> dict[str, Any]:
    """``seen`` with search hits of equal rank in one order: the release ranked them in no
    particular order, this one newest first."""
    for mine in seen.values():
        for key, hits in mine.items() if isinstance(mine, dict) else ():
            if key.startswith("search "):
                hits.sort(key=lambda hit: (hit["rank"], hit["message"]["id"]))
    return seen


def restore(cluster: Cluster, name: str, dump: bytes) -> None:
    done: Any = subprocess.run(
        [str(cluster.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", cluster.url(name)],
        input=dump,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
