"""Databases written by the last release open under this one, migrate in place, and serve
what they served: every agent's reads, searches, streams and tasks, byte for byte.

``tests/data/release-0.1.0`` holds what ``scripts/release_databases.py`` made with that
release's code: a SQLite file, a PostgreSQL dump, the scene's keys and each agent's views."""

from __future__ import annotations

import fnmatch
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
NO_KIND = {"kind": None}
ADDED: dict[str, dict[str, Any]] = {
    "users": {"admin": False},
    "*/board/me": {"runner": False, "deactivated": False, "deleted": False},
    "*/board/channels/*": {"roster": ..., "roster_more": 0},
    "*/#*/*": NO_KIND,
    "*/board/inbox/items/*/message": NO_KIND,
    "*/inbox/items/*/message": NO_KIND,
    "*/search */*/message": NO_KIND,
    "*/thread/root": NO_KIND,
    "*/thread/replies/*": NO_KIND,
}
"""Fields this build answers that the release did not, per view (``*/a/b``: the objects at
``a/b`` in every agent's views, each step a key pattern, ``*`` also every item of a list),
with the value each row upgraded from the release must hold (``...``: any value)."""


async def serves_the_same(db: str, engine: str) -> None:
    saved = json.loads((RELEASE / f"{engine}.json").read_text())
    scene = Scene(**saved["scene"])
    async with running(db, scene) as hub:
        after = json.loads(json.dumps(await views(hub, scene, same_engine=True), default=str))
        for view, fields in ADDED.items():
            for row in rows_of(after, view):
                taken = {name: row.pop(name) for name in fields}
                assert taken == {n: taken[n] if v is ... else v for n, v in fields.items()}
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
    steps = view.split("/")[1:]
    return [row for mine in seen.values() for row in _objects_at(mine, steps)]


def _objects_at(node: Any, steps: list[str]) -> list[dict[str, Any]]:
    """The objects under ``node`` at ``steps``: key patterns; ``*`` also takes every item."""
    if not steps:
        return [node] if isinstance(node, dict) else []
    step, rest = steps[0], steps[1:]
    if isinstance(node, dict):
        children = [value for key, value in node.items() if fnmatch.fnmatchcase(key, step)]
    else:
        children = list(node) if isinstance(node, list) and step == "*" else []
    return [row for child in children for row in _objects_at(child, rest)]


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
