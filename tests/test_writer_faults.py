"""Faults under the writer: on SQLite, another process holding the write lock, a full disk, a
file made read-only, a database deleted or replaced under a running hub, and a read-only
database at start; on PostgreSQL, the server going away and coming back. In each, every
caller of a refused write hears a 503 at once, nothing refused is stored, nothing
acknowledged is lost, the writer serves again as soon as the cause is gone, and
``/api/v1/ready`` says what is wrong meanwhile. (kill -9 loops: ``test_kill_loops.py``.)"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import pytest

from hubbub.core.errors import Unavailable
from tests.clients import API, AgentClient, InProcessHub, problem
from tests.live import HUBBUB, clean_env
from tests.moving import running
from tests.postgres import Cluster, running_cluster
from tests.test_metrics import scrape, value

pytestmark = pytest.mark.anyio

ROOT = os.geteuid() == 0
IN_CI = os.environ.get("CI") == "true"
needs_root = pytest.mark.skipif(
    not ROOT and not IN_CI, reason="mounting a small tmpfs and chattr +i need root"
)

# Another process that takes the database's write lock and holds it until its stdin closes.
HOLD_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""


@contextmanager
def write_lock_held(db: Path) -> Iterator[None]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
        assert holder.stdout is not None
        holder.stdout.close()


@contextmanager
def immutable(*paths: Path) -> Iterator[None]:
    """Files nobody may write, root included, until the block ends."""
    subprocess.run(["chattr", "+i", *map(str, paths)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, paths)], check=True)


@contextmanager
def small_disk(where: Path, size: str = "4m") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``where``."""
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def stored(db: Path, sql: str = "SELECT count(*) FROM messages") -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


async def ready(hub: InProcessHub) -> tuple[int, dict[str, str]]:
    response = await hub.http.get(f"{API}/ready")
    body = response.json()
    return response.status_code, {c["name"]: c["detail"] for c in body["checks"]}


async def test_ready_says_the_database_and_the_writer_are_fine(hub: InProcessHub) -> None:
    response = await hub.http.get(f"{API}/ready")
    assert response.status_code == 200
    assert response.json() == {
        "ready": True,
        "checks": [
            {"name": "database", "ok": True, "detail": "ok"},
            {"name": "writer", "ok": True, "detail": "ok"},
        ],
    }


async def _writer_settled(hub: InProcessHub) -> int:
    """The writer's batch count once it has been idle for two seconds: the hub's own
    dispatchers catch up with the log after start, a write each, and are then quiet."""
    telemetry = hub.hub.store.db.telemetry  # type: ignore[attr-defined]
    seen, quiet_since = telemetry.batches, asyncio.get_running_loop().time()
    for _ in range(600):  # 60 s at most
        await asyncio.sleep(0.1)
        now = asyncio.get_running_loop().time()
        if telemetry.batches != seen:
            seen, quiet_since = telemetry.batches, now
        elif now - quiet_since >= 2:
            return int(seen)
    raise AssertionError("the writer never went quiet")


async def test_ready_checks_share_one_probe_and_need_no_key(hub: InProcessHub) -> None:
    before = await _writer_settled(hub)
    answers = await asyncio.gather(*(hub.http.get(f"{API}/ready") for _ in range(20)))
    assert {a.status_code for a in answers} == {200}
    assert hub.hub.store.db.telemetry.batches - before <= 2  # type: ignore[attr-defined]


@pytest.mark.postgres
async def test_postgres_going_away_is_not_ready_and_writes_resume_when_it_is_back(
    tmp_path: Path, postgres: Cluster
) -> None:
    with running_cluster(durable=True) as cluster:  # acknowledged means on disk
        cluster.execute("CREATE DATABASE hub")
        async with running(cluster.url("hub")) as hub:
            alpha = await hub.agent("lap-alpha")
            await alpha.say("general", "before")
            await anyio.to_thread.run_sync(cluster.stop, "immediate")
            status, checks = await ready(hub)
            assert status == 503
            assert checks["database"] != "ok", checks  # unreachable, or no answer in time
            await anyio.to_thread.run_sync(cluster.start)
            await alpha.say("general", "after")  # the writer reconnected and lives on
            assert (await ready(hub))[0] == 200
            contents = [m["content"] for m in await alpha.messages("general")]
            assert contents == ["before", "after"]


async def test_a_lock_held_by_another_process_is_waited_for_then_refused(
    tmp_path: Path,
) -> None:
    db = tmp_path / "hub.db"
    async with running(str(db), lock_timeout_seconds=0.5) as hub:
        alpha = await hub.agent("lap-alpha")
        await alpha.say("general", "before the lock")
        with write_lock_held(db):
            refused = await alpha.post("/channels/general/messages", {"content": "locked"})
            body = problem(refused, 503, "db_locked")
            assert "another process" in body["detail"]
            status, checks = await ready(hub)
            assert status == 503
            assert checks["database"] == "ok"
            assert checks["writer"].startswith("db_locked")
            down = await scrape(hub)
            assert value(down, "hubbub_writer_up") == 0
            assert value(down, "hubbub_writer_refused_batches_total") >= 1
        # The writer lives on: the next write succeeds as soon as the lock is released.
        await alpha.say("general", "after the lock")
        assert (await ready(hub))[0] == 200
        assert value(await scrape(hub), "hubbub_writer_up") == 1
        contents = [m["content"] for m in await alpha.messages("general")]
        assert contents == ["before the lock", "after the lock"]


@pytest.mark.skipif(sys.platform != "linux", reason="the claim on the file is Linux's flock")
async def test_a_second_hub_on_the_same_file_is_refused_at_start(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    async with running(str(db)) as hub:
        with pytest.raises(Unavailable) as refused:
            async with running(str(db)):
                pass
        assert refused.value.code == "db_in_use"
        alpha = await hub.agent("lap-alpha")
        await alpha.say("general", "the first hub serves on")
    async with running(str(db)) as hub:  # free once the first one stops
        alpha = await hub.agent("lap-alpha")
        assert [m["content"] for m in await alpha.messages("general")] == [
            "the first hub serves on"
        ]


async def test_a_database_deleted_under_the_hub_refuses_writes_loudly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "hub.db"
    async with running(str(db)) as hub:
        alpha = await hub.agent("lap-alpha")
        await alpha.say("general", "kept")
        os.rename(db, tmp_path / "moved.db")
        with caplog.at_level(logging.ERROR, logger="hubbub.store"):
            for _ in range(2):  # every write, not just the first
                refused = await alpha.post("/channels/general/messages", {"content": "x"})
                assert "deleted" in problem(refused, 503, "db_replaced")["detail"]
        assert [r for r in caplog.records if "deleted" in r.getMessage()]
        assert (await ready(hub))[0] == 503
        # Reads at once open every reader thread's connection: none may create a file in the
        # database's place (it would read an empty database of its own ever after).
        await asyncio.gather(*(alpha.get("/channels/general/messages") for _ in range(16)))
        assert not db.exists()
        # Put back, the same file is written again.
        os.rename(tmp_path / "moved.db", db)
        await alpha.say("general", "back")
        assert (await ready(hub))[0] == 200
    assert stored(db) == 2


async def test_a_database_replaced_under_the_hub_refuses_writes(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    async with running(str(db)) as hub:
        alpha = await hub.agent("lap-alpha")
        await alpha.say("general", "kept")
        shutil.copy(db, tmp_path / "copy.db")
        os.replace(tmp_path / "copy.db", db)
        refused = await alpha.post("/channels/general/messages", {"content": "lost?"})
        assert "replaced" in problem(refused, 503, "db_replaced")["detail"]
        _, checks = await ready(hub)
        assert checks["writer"].startswith("db_replaced")


@needs_root
async def test_a_full_disk_refuses_writes_and_the_writer_recovers_when_space_returns(
    tmp_path: Path,
) -> None:
    with small_disk(tmp_path / "disk") as disk:
        ballast = disk / "ballast"
        ballast.write_bytes(b"\0" * 1024 * 1024)
        db = disk / "hub.db"
        acknowledged: list[int] = []
        async with running(str(db)) as hub:
            alpha = await hub.agent("lap-alpha")
            for number in range(5000):  # 2 KB each: 4 MiB fill up long before the end
                response = await alpha.post(
                    "/channels/general/messages", {"content": f"{number:04} " + "x" * 2000}
                )
                if response.status_code != 201:
                    problem(response, 503, "commit_failed")
                    break
                acknowledged.append(response.json()["id"])
            else:
                pytest.fail("the disk never filled up")
            for _ in range(3):  # refused at once, every time, while the disk stays full
                response = await alpha.post("/channels/general/messages", {"content": "y" * 2000})
                problem(response, 503, "commit_failed")
            ballast.unlink()
            recovered = await alpha.say("general", "room again")
            acknowledged.append(recovered["id"])
            assert (await ready(hub))[0] == 200
        # Every acknowledged post is there after a restart, and nothing else.
        async with running(str(db)) as hub:
            alpha = await hub.agent("lap-alpha")
            newest = await alpha.messages("general", limit=500)
        assert [m["id"] for m in newest] == acknowledged[-500:]
        with sqlite3.connect(db) as conn:
            ids = [row[0] for row in conn.execute("SELECT id FROM messages ORDER BY id")]
        assert ids == acknowledged


@needs_root
async def test_a_file_made_read_only_refuses_writes_until_it_is_writable_again(
    tmp_path: Path,
) -> None:
    db = tmp_path / "hub.db"
    async with running(str(db)) as hub:
        alpha: AgentClient = await hub.agent("lap-alpha")
        await alpha.say("general", "before")
        with immutable(db, db.with_name("hub.db-wal")):
            for _ in range(2):
                refused = await alpha.post("/channels/general/messages", {"content": "x"})
                problem(refused, 503, "commit_failed")
            assert (await ready(hub))[0] == 503
        await alpha.say("general", "after")
        assert (await ready(hub))[0] == 200
    assert stored(db) == 2


@needs_root
async def test_a_read_only_database_is_refused_at_start(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    async with running(str(db)):
        pass
    with immutable(db):
        with pytest.raises(Unavailable) as refused:
            async with running(str(db)):
                pass
        assert refused.value.code == "bad_db"


@needs_root
def test_hubbub_serve_on_a_read_only_database_says_why_and_exits(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    sqlite3.connect(db).close()
    with immutable(db):
        done = subprocess.run(
            [str(HUBBUB), "serve", "--port", "0", "--db", str(db), "--no-provision"],
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(tmp_path),
            check=False,
        )
        assert done.returncode != 0
        shown = done.stdout + done.stderr
        assert "bad_db" in shown or "cannot" in shown, shown
        assert "readonly" in shown or "read-only" in shown, shown
