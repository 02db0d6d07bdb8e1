"""Moving a hub between databases: ``hubbub export`` and ``hubbub import`` keep every read,
search, cursor and id (SQLite to PostgreSQL and back), new ids follow on, and a bad import
(a database with data, a truncated or damaged file, another schema version) is refused and
changes nothing; ``hubbub migrate`` and ``hubbub serve --no-migrate``."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from hubbub.core.errors import Conflict, HubbubError, InvalidInput, Unavailable
from hubbub.store import dumpfile, migrations, transfer
from hubbub.store.sqlite import engine
from tests.clients import AgentClient, InProcessHub
from tests.live import HUBBUB, LiveHub, clean_env, running_hub
from tests.moving import (
    contents,
    differences,
    largest,
    move,
    page,
    populate,
    query,
    running,
    views,
)
from tests.postgres import Cluster
from tests.sse import open_stream

pytestmark = pytest.mark.anyio


async def check_move(source: str, target: str, *, same_engine: bool) -> None:
    """Populate a hub on ``source``, move it (while it runs) to ``target``, and compare."""
    async with running(source) as hub:
        scene = await populate(hub)
        before = await views(hub, scene, same_engine=same_engine)
        assert_rich(before)
        last_message, last_seq = largest(hub, "messages"), await hub.hub.store.last_event_seq()
        last_task = largest(hub, "tasks")
        _, moved = await move(source, target)
    assert moved.rows == sum(moved.counts.values()) > 50
    async with running(target, scene) as hub:
        after = await views(hub, scene, same_engine=same_engine)
        assert not differences(before, after)
        # The same keys, the integration's token and its dedupe key still work.
        response = await page(hub, scene.integration_token, "disk-full")
        assert (response.status_code, response.json()["task"]["id"]) == (200, scene.tasks["paged"])
        # New rows follow the moved ones: ids, event sequence numbers.
        alpha = await hub.agent("lap-alpha")
        posted = await alpha.say("general", "first words after the move")
        assert posted["id"] == last_message + 1
        assert moved.following["messages"] == last_message + 1
        log = await hub.hub.store.events_after(last_seq, 100)
        assert log
        assert log[0].seq > last_seq
        assert [e.payload["message"]["id"] for e in log if e.type == "message.posted"] == [
            posted["id"]
        ]
        task = await alpha.ok("POST", "/tasks", {"title": "After", "target": "#general"})
        assert task["id"] == last_task + 1


def assert_rich(seen: dict[str, Any]) -> None:
    """The views compared hold what they should, so equal views mean something."""
    beta = seen["lap-beta"]
    assert {item["acked_at"] is None for item in beta["inbox"]["items"]} == {True, False}
    assert {t["status"] for t in beta["tasks"]["tasks"]} == {
        "open", "claimed", "done", "failed", "cancelled"
    }  # fmt: skip
    assert beta["thread"]["replies"]
    assert any(c["unread"] for c in seen["lap-alpha"]["board"]["channels"])
    for name in ("lap-alpha", "lap-beta", "srv-gamma"):
        assert all(seen[name][f"search {words}"] for words in ("cafe", "rollout", "naive"))
        assert len(seen[name]["events"]) > 10
    assert seen["users"]
    assert seen["integrations"]


async def test_sqlite_to_sqlite_keeps_every_read_search_and_cursor(tmp_path: Path) -> None:
    await check_move(str(tmp_path / "a.db"), str(tmp_path / "b.db"), same_engine=True)


@pytest.mark.postgres
async def test_sqlite_to_postgres_keeps_every_read_search_and_cursor(
    tmp_path: Path, postgres: Cluster
) -> None:
    # A database with no schema yet: the import creates it.
    name = postgres.create_database(template=None)
    try:
        await check_move(str(tmp_path / "a.db"), postgres.url(name), same_engine=False)
    finally:
        postgres.drop_database(name)


@pytest.mark.postgres
async def test_postgres_to_sqlite_keeps_every_read_search_and_cursor(
    tmp_path: Path, postgres: Cluster
) -> None:
    name = postgres.new_database()
    try:
        await check_move(postgres.url(name), str(tmp_path / "b.db"), same_engine=False)
    finally:
        postgres.drop_database(name)


class Slow:
    """An export's progress that takes its time after each batch, noting how many posts had
    landed by then: so posts land while the export reads."""

    def __init__(self, posted: list[int]) -> None:
        self.posted = posted
        self.seen: list[int] = []

    def start(self, total: int) -> None:
        self.seen.append(len(self.posted))

    def advance(self, table: str, rows: int) -> None:
        self.seen.append(len(self.posted))
        time.sleep(0.02)


async def test_an_export_is_one_snapshot_while_the_hub_writes(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    """Posts go on during the export (messages are read before events); the file holds each
    message exactly with its event, nothing after the snapshot, and it imports."""
    source, target = new_database(), str(tmp_path / "copy.db")
    out = io.BytesIO()
    posted: list[int] = []
    slow = Slow(posted)
    async with running(source) as hub:
        alpha = await hub.agent("lap-alpha")
        for n in range(100):
            await alpha.say("general", f"before {n}")
        done = threading.Event()

        def export() -> None:
            try:
                asyncio.run(dumpfile.export(transfer.open_direct(source), out, slow))
            finally:
                done.set()

        async with anyio.create_task_group() as group:
            group.start_soon(anyio.to_thread.run_sync, export)
            while not done.is_set():
                posted.append((await alpha.say("general", f"during {len(posted)}"))["id"])
        total = largest(hub, "messages")
    assert slow.seen[-1] > slow.seen[0] + 5  # posts landed while the export read
    moved = await dumpfile.load(transfer.open_direct(target), io.BytesIO(out.getvalue()))
    ids = [row[0] for row in query(target, "SELECT id FROM messages ORDER BY id")]
    assert 100 <= len(ids) < total
    assert ids == list(range(1, len(ids) + 1))
    events = query(target, "SELECT payload FROM events WHERE type = 'message.posted'")
    assert sorted(json.loads(p)["message"]["id"] for (p,) in events) == ids
    assert moved.counts["messages"] == len(ids)


async def test_id_counters_beyond_the_largest_id_move_too(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    """Ids of rows deleted since (old events, delivered webhooks) are never handed out again."""
    source = tmp_path / "a.db"
    async with running(str(source)) as hub:
        await (await hub.agent("lap-alpha")).say("general", "hello")
    conn = sqlite3.connect(source)
    with conn:
        conn.execute("UPDATE sqlite_sequence SET seq = 1000 WHERE name = 'events'")
        conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('webhook_deliveries', 77)")
    conn.close()
    target = new_database()
    _, moved = await move(str(source), target)
    assert (moved.following["events"], moved.following["webhook_deliveries"]) == (1001, 78)
    async with running(target) as hub:
        await (await hub.agent("lap-alpha")).say("general", "after the move")
        assert min(e.seq for e in await hub.hub.store.events_after(10, 100)) == 1001


# refusals


async def exported(tmp_path: Path) -> bytes:
    """The export of a small populated SQLite hub."""
    source = str(tmp_path / "source.db")
    async with running(source) as hub:
        await populate(hub)
    out = io.BytesIO()
    await dumpfile.export(transfer.open_direct(source), out)
    return out.getvalue()


def exists(path: str) -> bool:
    return os.path.exists(path)


def listed(folder: Path) -> list[str]:
    return os.listdir(folder)


async def refused(target: str, data: bytes) -> HubbubError:
    with pytest.raises(HubbubError) as caught:
        await dumpfile.load(transfer.open_direct(target), io.BytesIO(data))
    return caught.value


async def test_an_import_into_a_database_with_data_is_refused_and_changes_nothing(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    data = await exported(tmp_path)
    target = new_database()
    async with running(target) as hub:
        await (await hub.agent("lap-zed")).say("general", "already here")
    before = contents(target)
    error = await refused(target, data)
    assert isinstance(error, Conflict)
    assert error.code == "db_not_empty"
    assert "messages (1)" in error.detail
    assert contents(target) == before


def damage(data: bytes) -> dict[str, bytes]:
    """Ways an export file goes bad."""
    lines = data.splitlines(keepends=True)
    rows = [i for i, line in enumerate(lines) if line.startswith(b'{"t":"messages"')]
    changed = list(lines)
    changed[rows[1]] = lines[rows[1]].replace(b"Looks good", b"Looks bad")
    assert changed[rows[1]] != lines[rows[1]]
    return {
        "no end line": b"".join(lines[:-1]),
        "cut mid-line": data[: len(data) - len(lines[-1]) - 7],
        "a row changed": b"".join(changed),
        "a row missing": b"".join(lines[: rows[0]] + lines[rows[0] + 1 :]),
        "a line after the end": data + lines[1],
        "not JSON": b"".join(lines[:3]) + b"{oops\n" + b"".join(lines[3:]),
        "empty": b"",
        "not an export": b'{"hello": "world"}\n',
    }


async def test_a_truncated_or_damaged_file_is_refused_and_changes_nothing(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    data = await exported(tmp_path)
    target = new_database()  # empty: SQLite, a path with no file yet; PostgreSQL, migrated
    pristine = None if target.endswith(".db") else contents(target)
    for what, bad in damage(data).items():
        error = await refused(target, bad)
        assert isinstance(error, InvalidInput), (what, error)
        assert error.code == "bad_export", (what, error)
        if pristine is None:
            assert not exists(target), what  # the file it made is gone again
        else:
            assert contents(target) == pristine, what
    moved = await dumpfile.load(transfer.open_direct(target), io.BytesIO(data))
    assert moved.counts["messages"] > 0  # the intact file goes in


async def test_a_file_from_another_schema_version_is_refused(tmp_path: Path) -> None:
    data = await exported(tmp_path)
    header, rest = data.split(b"\n", 1)
    older = json.loads(header) | {"schema": 4}
    error = await refused(str(tmp_path / "t.db"), json.dumps(older).encode() + b"\n" + rest)
    assert error.code == "export_schema_mismatch", error
    assert "schema 4" in error.detail
    assert not (tmp_path / "t.db").exists()


def migrated_to(path: Path, version: int) -> None:
    """A SQLite file with the first ``version`` migrations applied, as an older hub left it."""
    conn = engine.connect(path)
    steps = migrations.load("hubbub.store.sqlite")[:version]
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "checksum TEXT NOT NULL, applied_at INTEGER NOT NULL)"
    )
    for step in steps:
        conn.executescript(step.sql)
        conn.execute(
            "INSERT INTO schema_migrations VALUES (?, ?, ?, 0)",
            (step.version, step.name, step.checksum),
        )
    conn.close()


async def test_an_export_refuses_a_database_behind_this_version_or_with_a_foreign_table(
    tmp_path: Path,
) -> None:
    old = tmp_path / "old.db"
    migrated_to(old, 3)
    with pytest.raises(Unavailable) as caught:
        await dumpfile.export(transfer.open_direct(str(old)), io.BytesIO())
    assert caught.value.code == "schema_too_old"
    assert "run 'hubbub migrate' first" in caught.value.detail

    current = tmp_path / "current.db"
    migrated_to(current, len(migrations.load("hubbub.store.sqlite")))
    conn = sqlite3.connect(current)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
    conn.close()
    with pytest.raises(Unavailable) as caught:
        await dumpfile.export(transfer.open_direct(str(current)), io.BytesIO())
    assert caught.value.code == "schema_mismatch"
    assert "unknown tables notes" in caught.value.detail


# the commands


def hubbub(
    *args: str, home: Path, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(HUBBUB), *args],
        input=stdin,
        capture_output=True,
        env=clean_env(home),
        timeout=60,
        check=False,
    )


def out(done: subprocess.CompletedProcess[bytes]) -> Any:
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    return json.loads(done.stdout)


@pytest.mark.e2e
async def test_export_and_import_commands_move_a_hub_that_then_serves_the_same(
    tmp_path: Path,
) -> None:
    source, target, piped = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "c.db"
    async with running(str(source)) as hub:
        scene = await populate(hub)
        beta = await hub.agent("lap-beta")
        history = await replayed(hub, beta, scene.cursor)
        general = await beta.messages("general")
    file = tmp_path / "hub.jsonl.gz"
    summary = out(hubbub("export", "--db", str(source), "-o", str(file), "--json", home=tmp_path))
    assert summary["file"] == str(file)
    assert summary["tables"]["messages"] == len(query(str(source), "SELECT id FROM messages"))
    assert file.stat().st_mode & 0o777 == 0o600
    assert not [name for name in listed(tmp_path) if name.endswith(".partial")]
    loaded = out(hubbub("import", str(file), "--db", str(target), "--json", home=tmp_path))
    assert loaded["tables"] == summary["tables"]
    assert loaded["migrated"] == list(range(1, len(migrations.load("hubbub.store.sqlite")) + 1))
    assert loaded["next_ids"]["messages"] == largest_id(source, "messages") + 1

    # Through a pipe: export to stdout, import from stdin.
    exported = hubbub("export", "--db", str(source), home=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert b"Exported" in exported.stderr
    assert exported.stdout.startswith(b'{"format":"hubbub-export"')
    done = hubbub("import", "-", "--db", str(piped), home=tmp_path, stdin=exported.stdout)
    assert done.returncode == 0, done.stderr
    assert b"new messages start at id" in done.stdout
    again = hubbub("import", "-", "--db", str(piped), home=tmp_path, stdin=exported.stdout)
    assert again.returncode == 1
    assert b"error (db_not_empty)" in again.stderr

    # A real hub on the imported file: the same reads with the same key, and the event
    # stream resumes from the same cursor with the same events.
    with running_hub(tmp_path / "serve", db_path=target, args=["--no-provision"]) as live:
        key = scene.machine_keys["lap"]
        path = "/api/v1/channels/general/messages"
        response = live.request("GET", path, key=key, agent="lap-beta")
        assert response.json()["messages"] == general
        assert await streamed(live, key, scene.cursor, len(history)) == history


def largest_id(db: Path, table: str) -> int:
    return int(query(str(db), f"SELECT max(id) FROM {table}")[0][0])


async def replayed(hub: InProcessHub, agent: AgentClient, after: int) -> list[tuple[int, str]]:
    """The events ``agent``'s stream replays after ``after``."""
    me = await hub.hub.store.agent(agent.name)
    assert me is not None
    scope = await hub.hub.feed.scope(me)
    return [
        (e.seq, e.type) for e in await hub.hub.store.events_after(after, 10_000) if scope.admits(e)
    ]


async def streamed(live: LiveHub, key: str, after: int, count: int) -> list[tuple[int, str]]:
    """The first ``count`` events of lap-beta's stream resumed with ``Last-Event-ID``."""
    async with httpx.AsyncClient(base_url=live.url, timeout=10) as http:
        agent = AgentClient(http, "lap-beta", key)
        async with open_stream(agent, last_event_id=after) as stream:
            seen: list[tuple[int, str]] = []
            while len(seen) < count:
                event = await stream.expect()
                seen.append((event.seq, event.type))
            return seen


@pytest.mark.e2e
def test_migrate_lists_and_applies_pending_migrations(tmp_path: Path) -> None:
    fresh, old = tmp_path / "fresh.db", tmp_path / "old.db"
    latest = len(migrations.load("hubbub.store.sqlite"))
    check = hubbub("migrate", "--check", "--db", str(fresh), home=tmp_path)
    assert check.returncode == 1, check
    assert f"schema 0, this hub's is {latest}; pending:".encode() in check.stdout
    assert b"0001 initial" in check.stdout
    assert b"0005 integrations" in check.stdout
    assert not fresh.exists()  # a check creates nothing

    applied = hubbub("migrate", "--db", str(fresh), home=tmp_path)
    assert applied.returncode == 0, applied
    assert applied.stdout.decode().splitlines()[0] == "applied 0001 initial"
    assert f"schema {latest}, up to date".encode() in applied.stdout
    assert fresh.stat().st_mode & 0o777 == 0o600
    current = out(hubbub("migrate", "--check", "--json", "--db", str(fresh), home=tmp_path))
    assert current == {
        "db": str(fresh),
        "version": latest,
        "latest": latest,
        "applied": [],
        "pending": [],
        "misplaced": [],
    }

    migrated_to(old, 3)
    pending = hubbub("migrate", "--check", "--json", "--db", str(old), home=tmp_path)
    assert pending.returncode == 1
    assert [p["version"] for p in json.loads(pending.stdout)["pending"]] == list(
        range(4, latest + 1)
    )
    done = out(hubbub("migrate", "--json", "--db", str(old), home=tmp_path))
    shipped = migrations.load("hubbub.store.sqlite")
    assert [(p["version"], p["name"]) for p in done["applied"]] == [
        (m.version, m.name) for m in shipped[3:]
    ]
    assert done["applied"][:2] == [
        {"version": 4, "name": "tasks"},
        {"version": 5, "name": "integrations"},
    ]
    assert done["version"] == latest


@pytest.mark.e2e
def test_serve_no_migrate_refuses_a_database_behind_and_serves_a_current_one(
    tmp_path: Path,
) -> None:
    old = tmp_path / "old.db"
    migrated_to(old, 3)
    for args, env in (
        (["--no-migrate"], {}),
        ([], {"HUBBUB_MIGRATE": "false"}),
    ):
        done = subprocess.run(
            [str(HUBBUB), "serve", "--port", "0", "--db", str(old), "--no-provision", *args],
            capture_output=True,
            text=True,
            env=clean_env(tmp_path, **env),
            timeout=60,
            check=False,
        )
        assert done.returncode == 1, done
        assert "error (schema_too_old): the database is at schema 3" in done.stderr
    assert [v for (v,) in query(str(old), "SELECT version FROM schema_migrations")] == [1, 2, 3]
    fresh = tmp_path / "fresh.db"
    done = subprocess.run(
        [str(HUBBUB), "serve", "--port", "0", "--db", str(fresh), "--no-migrate"],
        capture_output=True,
        text=True,
        env=clean_env(tmp_path),
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done
    assert "has no schema yet" in done.stderr
    assert not fresh.exists()

    assert hubbub("migrate", "--db", str(old), home=tmp_path).returncode == 0
    with running_hub(tmp_path / "serve", db_path=old, args=["--no-migrate"]) as live:
        assert live.request("GET", "/api/v1/health").status_code == 200


async def test_a_hub_told_not_to_migrate_refuses_an_unmigrated_database(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        db = str(tmp_path / "none.db")
    else:
        cluster: Cluster = request.getfixturevalue("postgres")
        db = cluster.url(cluster.create_database(template=None))
    with pytest.raises(Unavailable) as caught:
        async with running(db, migrate=False):
            pass
    assert caught.value.code == "schema_too_old"
    direct = transfer.open_direct(db)
    assert (await direct.schema()).version == 0  # nothing was created
    assert await direct.migrate(lambda step: None)
    async with running(db, migrate=False) as hub:
        assert (await hub.agent("lap-alpha")).name == "lap-alpha"
