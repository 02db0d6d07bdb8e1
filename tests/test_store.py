"""The SQLite store on a real file: group commit, isolation of failing writes, durability
across reopening, and migrations applied exactly once."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest

from hubbub.core.errors import Conflict, NotFound, Unavailable
from hubbub.core.models import Agent, Channel
from hubbub.core.store import NewChannel, NewMessage, SearchQuery
from hubbub.store import open_store
from hubbub.store.sql import Query, Session
from hubbub.store.sqlite import SqliteStore
from hubbub.store.sqlite.engine import Database

pytestmark = pytest.mark.anyio


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = SqliteStore(tmp_path / "store.db")
    await opened.open()
    yield opened
    await opened.close()


async def seed(store: SqliteStore) -> tuple[Agent, Channel]:
    agent = await store.ensure_agent("lap-alpha", "lap", "agent")
    channel = await store.create_channel(
        NewChannel(name="general", created_by=agent.id, members=(agent.id,))
    )
    return agent, channel


def new_message(agent: Agent, channel: Channel, content: str, **extra: Any) -> NewMessage:
    fields: dict[str, Any] = {"metadata": {}, "mentions": [], "inbox": [], **extra}
    return NewMessage(
        channel=channel.id,
        channel_name=channel.name,
        author_id=agent.id,
        author_name=agent.name,
        content=content,
        **fields,
    )


def rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows read straight from the file, past the store."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [tuple(r) for r in conn.execute(sql)]
    finally:
        conn.close()


async def test_concurrent_writes_all_commit_with_increasing_ids(store: SqliteStore) -> None:
    agent, channel = await seed(store)
    batches_before = store.db.telemetry.batches
    count = 200
    results = await asyncio.gather(
        *(store.post(new_message(agent, channel, f"m{i}")) for i in range(count))
    )
    ids = [r.message.id for r in results]
    assert len(set(ids)) == count
    assert ids == sorted(ids)  # in the order they were submitted
    assert [r.message.content for r in results] == [f"m{i}" for i in range(count)]
    stored = await store.messages(channel.id, after=0, before=None, limit=500)
    assert [m.id for m in stored] == ids
    assert rows(store.db.path, "SELECT count(*) FROM messages") == [(count,)]
    # Group commit: the writes shared transactions.
    assert store.db.telemetry.batches - batches_before < count


async def test_concurrent_retries_with_one_idempotency_key_post_once(store: SqliteStore) -> None:
    agent, channel = await seed(store)
    results = await asyncio.gather(
        *(store.post(new_message(agent, channel, "once", idempotency_key="k1")) for _ in range(20))
    )
    assert len({r.message.id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert rows(store.db.path, "SELECT count(*) FROM messages") == [(1,)]


INSERT_KEY = Query(
    "INSERT INTO keys (kind, machine, prefix, digest, created_at) "
    "VALUES ('machine', 'lap', 'hb_x', :digest, 0) RETURNING id"
)


async def _insert_key(conn: Session, digest: str) -> int:
    return int(await conn.value(INSERT_KEY, digest=digest))


async def _insert_then_fail(conn: Session, digest: str) -> int:
    await _insert_key(conn, digest)
    raise ValueError(f"failed after inserting {digest}")


async def test_a_failing_write_does_not_affect_its_batch(tmp_path: Path) -> None:
    db = Database(tmp_path / "batch.db")
    await db.open()
    try:
        started, release = threading.Event(), threading.Event()

        async def blocker(conn: Session) -> int:
            started.set()
            assert release.wait(10)  # the writer thread waits here, holding its batch
            return await _insert_key(conn, "blocker")

        blocking = asyncio.ensure_future(db.write(blocker))
        assert await anyio.to_thread.run_sync(started.wait, 10)
        batches = db.telemetry.batches
        # While the writer is held, queue good and failing writes: they form one batch.
        jobs = [
            asyncio.ensure_future(db.write(_insert_key, "good-1")),
            asyncio.ensure_future(db.write(_insert_then_fail, "bad-1")),
            asyncio.ensure_future(db.write(_insert_key, "good-2")),
            asyncio.ensure_future(db.write(_insert_key, "good-1")),  # unique constraint
            asyncio.ensure_future(db.write(_insert_key, "good-3")),
        ]
        await asyncio.sleep(0)  # one loop turn: every job reaches the writer's queue
        release.set()
        await blocking
        outcomes = await asyncio.gather(*jobs, return_exceptions=True)

        assert db.telemetry.batches - batches == 2  # the blocker's batch, then all five together
        assert isinstance(outcomes[1], ValueError)
        assert isinstance(outcomes[3], sqlite3.IntegrityError)
        good = [outcomes[0], outcomes[2], outcomes[4]]
        assert all(isinstance(o, int) for o in good)
        digests = rows(db.path, "SELECT digest FROM keys ORDER BY id")
        assert digests == [("blocker",), ("good-1",), ("good-2",), ("good-3",)]
    finally:
        await db.close()


async def test_data_survives_closing_and_reopening(tmp_path: Path) -> None:
    path = tmp_path / "durable.db"
    first = SqliteStore(path)
    await first.open()
    agent, channel = await seed(first)
    other = await first.ensure_agent("lap-beta", "lap", "agent")
    key = await first.create_key("machine", "lap", "kept", "hb_abc", "digest-1")
    posted = await first.post(new_message(agent, channel, "kept", inbox=[(other.id, "mention")]))
    await first.close()

    second = SqliteStore(path)
    await second.open()
    try:
        assert await second.message(posted.message.id) == posted.message
        assert (await second.agent("lap-alpha")) == agent
        assert [k.id for k in await second.list_keys()] == [key.id]
        assert (await second.key_by_digest("digest-1")) is not None
        assert await second.is_member(channel.id, agent.id)
        items, unacked = await second.inbox(other.id, after=0, limit=10, include_acked=False)
        assert ([i.message.id for i in items], unacked) == ([posted.message.id], 1)
        hits = await second.search(SearchQuery(terms="kept", viewer_id=agent.id))
        assert [h.message.id for h in hits] == [posted.message.id]
    finally:
        await second.close()


async def test_migrations_apply_once_and_reopening_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "migrated.db"
    query = "SELECT version, name, checksum, applied_at FROM schema_migrations"
    applied = []
    for _ in range(3):
        store = SqliteStore(path)
        await store.open()
        await store.close()
        applied.append(rows(path, query))
    assert applied[0] == applied[1] == applied[2]
    applied_once = applied[0]
    versions = [row[0] for row in applied_once]
    assert versions == list(range(1, len(versions) + 1))
    assert versions
    assert applied_once[0][1] == "initial"
    tables = {r[0] for r in rows(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"keys", "agents", "channels", "members", "messages", "inbox", "events"} <= tables
    assert rows(path, "PRAGMA journal_mode") == [("wal",)]


async def test_a_database_from_a_newer_hub_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    store = SqliteStore(path)
    await store.open()
    await store.close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_migrations VALUES (999, 'future', 'x', 0)")
    conn.commit()
    conn.close()
    with pytest.raises(Unavailable) as refused:
        await SqliteStore(path).open()
    assert refused.value.code == "schema_too_new"


async def test_a_changed_applied_migration_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "changed.db"
    store = SqliteStore(path)
    await store.open()
    await store.close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_migrations SET checksum = 'tampered' WHERE version = 1")
    conn.commit()
    conn.close()
    with pytest.raises(Unavailable) as refused:
        await SqliteStore(path).open()
    assert refused.value.code == "schema_mismatch"


async def test_a_closed_store_refuses_work(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "closed.db")
    await store.open()
    await store.close()
    await store.close()  # closing twice is harmless
    with pytest.raises(Unavailable):
        await store.ensure_agent("lap-alpha", "lap", "agent")
    with pytest.raises(Unavailable):
        await store.list_keys()


async def test_writes_queued_before_close_are_committed(tmp_path: Path) -> None:
    path = tmp_path / "drain.db"
    store = SqliteStore(path)
    await store.open()
    agent, channel = await seed(store)
    pending = [
        asyncio.ensure_future(store.post(new_message(agent, channel, f"late {i}")))
        for i in range(20)
    ]
    await asyncio.sleep(0)  # the posts are queued to the writer
    await store.db.close()
    done = await asyncio.gather(*pending)
    assert len({r.message.id for r in done}) == 20
    assert rows(path, "SELECT count(*) FROM messages") == [(20,)]


def test_open_store_accepts_paths_and_sqlite_urls(tmp_path: Path) -> None:
    for db in (str(tmp_path / "a.db"), f"sqlite:///{tmp_path / 'b.db'}"):
        store = open_store(db)
        assert isinstance(store, SqliteStore)
        assert store.db.path.parent == tmp_path
    assert not isinstance(open_store("postgresql://localhost/hubbub"), SqliteStore)


async def test_a_post_to_a_channel_archived_since_the_caller_looked_writes_nothing(
    store: SqliteStore, tmp_path: Path
) -> None:
    agent, channel = await seed(store)
    await store.post(new_message(agent, channel, "before"))
    await store.archive_channel(channel.id)
    with pytest.raises(Conflict) as refused:
        await store.post(new_message(agent, channel, "after"))
    assert refused.value.code == "channel_archived"
    assert rows(tmp_path / "store.db", "SELECT content FROM messages") == [("before",)]
    gone = channel.model_copy(update={"id": channel.id + 100})
    with pytest.raises(NotFound) as missing:
        await store.post(new_message(agent, gone, "nowhere"))
    assert missing.value.code == "channel_not_found"
