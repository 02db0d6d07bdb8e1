"""The PostgreSQL store and bus on a real server: commit order is sequence order whoever
writes, idempotency and unique names hold across processes, migrations run once, a lost
connection is replaced, and the bus catches up from the log after losing its own."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from hubbub.bus.postgres import PostgresBus
from hubbub.core.errors import Conflict, InvalidInput, Unavailable
from hubbub.core.events import StoredEvent
from hubbub.core.models import Agent, Channel
from hubbub.core.store import NewChannel, NewMessage
from hubbub.store import open_store
from hubbub.store.postgres import PostgresStore
from hubbub.store.postgres.engine import LOCK_KEY
from hubbub.store.sqlite import SqliteStore
from tests.postgres import Cluster

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


@pytest.fixture
def url(postgres: Cluster) -> Iterator[str]:
    """A fresh, migrated database."""
    name = postgres.new_database()
    yield postgres.url(name)
    postgres.drop_database(name)


@pytest.fixture
async def store(url: str) -> AsyncIterator[PostgresStore]:
    opened = PostgresStore(url)
    await opened.open()
    yield opened
    await opened.close()


async def seed(store: PostgresStore) -> tuple[Agent, Channel]:
    agent = await store.ensure_agent("lap-alpha", "lap", "agent")
    found = await store.channel("general")
    if found is None:
        found = await store.create_channel(
            NewChannel(name="general", created_by=agent.id, members=(agent.id,))
        )
    return agent, found


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


async def test_readers_resuming_after_a_seq_never_miss_a_commit_of_any_writer(url: str) -> None:
    """Two stores (as two hub processes) post at once while a reader follows the log and a
    channel "after N", as streams and waits do: what it reads is everything, in order."""
    stores = [PostgresStore(url), PostgresStore(url)]
    for each in stores:
        await each.open()
    try:
        agent, channel = await seed(stores[0])
        done = asyncio.Event()
        seen_seqs: list[int] = []
        seen_ids: list[int] = []

        async def follow() -> None:
            seq = message = 0
            while True:
                finished = done.is_set()
                page = await stores[1].events_after(seq, 1000)
                seen_seqs.extend(e.seq for e in page)
                seq = page[-1].seq if page else seq
                found = await stores[1].messages(channel.id, after=message, before=None, limit=500)
                seen_ids.extend(m.id for m in found)
                message = found[-1].id if found else message
                if finished:
                    return

        reader = asyncio.create_task(follow())
        await asyncio.gather(
            *(
                store.post(new_message(agent, channel, f"{n} {i}"))
                for i in range(150)
                for n, store in enumerate(stores)
            )
        )
        done.set()
        await reader
        every_seq = [e.seq for e in await stores[0].events_after(0, 10_000)]
        every_id = [
            m.id for m in await stores[0].messages(channel.id, after=0, before=None, limit=500)
        ]
        assert len(every_id) == 300
        assert seen_seqs == every_seq
        assert seen_ids == every_id
        # Both processes group-committed: far fewer transactions than writes.
        assert sum(s.db.telemetry.batches for s in stores) < 300
    finally:
        for each in stores:
            await each.close()


async def test_an_idempotency_key_posts_once_across_processes(url: str) -> None:
    stores = [PostgresStore(url), PostgresStore(url)]
    for each in stores:
        await each.open()
    try:
        agent, channel = await seed(stores[0])
        results = await asyncio.gather(
            *(
                store.post(new_message(agent, channel, "once", idempotency_key="k1"))
                for _ in range(10)
                for store in stores
            )
        )
        assert len({r.message.id for r in results}) == 1
        assert sum(not r.replayed for r in results) == 1
    finally:
        for each in stores:
            await each.close()


async def test_a_name_is_taken_once_across_processes(url: str) -> None:
    stores = [PostgresStore(url), PostgresStore(url)]
    for each in stores:
        await each.open()
    try:
        agent, _ = await seed(stores[0])
        outcomes = await asyncio.gather(
            *(
                store.create_channel(NewChannel(name="race", created_by=agent.id))
                for store in stores
            ),
            return_exceptions=True,
        )
        made = [o for o in outcomes if isinstance(o, Channel)]
        refused = [o for o in outcomes if isinstance(o, Conflict)]
        assert len(made) == 1
        assert [e.code for e in refused] == ["channel_exists"]
    finally:
        for each in stores:
            await each.close()


async def test_a_failing_write_does_not_affect_its_batch(store: PostgresStore) -> None:
    agent, channel = await seed(store)
    before = store.db.telemetry.batches
    outcomes = await asyncio.gather(
        store.post(new_message(agent, channel, "good 1")),
        store.create_channel(NewChannel(name="general", created_by=agent.id)),  # taken
        store.post(new_message(agent, channel, "good 2")),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], Conflict)
    assert store.db.telemetry.batches - before == 1  # one batch, rerun with savepoints
    stored = await store.messages(channel.id, after=0, before=None, limit=10)
    assert [m.content for m in stored] == ["good 1", "good 2"]


async def test_migrations_run_once_even_when_processes_start_together(
    postgres: Cluster,
) -> None:
    name = postgres.create_database(template=None)
    url = postgres.url(name)
    try:
        stores = [PostgresStore(url, pool_min=0) for _ in range(3)]
        await asyncio.gather(*(s.open() for s in stores))
        for each in stores:
            await each.close()
        rows = postgres.execute("SELECT version, name FROM schema_migrations ORDER BY 1", name)
        assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
        assert rows[0][1] == "initial"
        postgres.execute("INSERT INTO schema_migrations VALUES (999, 'future', 'x', 0)", name)
        with pytest.raises(Unavailable) as newer:
            await PostgresStore(url).open()
        assert newer.value.code == "schema_too_new"
        postgres.execute("DELETE FROM schema_migrations WHERE version = 999", name)
        postgres.execute("UPDATE schema_migrations SET checksum = 'x' WHERE version = 1", name)
        with pytest.raises(Unavailable) as changed:
            await PostgresStore(url).open()
        assert changed.value.code == "schema_mismatch"
    finally:
        postgres.drop_database(name)


async def test_a_lost_writer_connection_is_replaced_without_losing_the_write(
    store: PostgresStore, postgres: Cluster, url: str
) -> None:
    agent, channel = await seed(store)
    await store.post(new_message(agent, channel, "first"))
    dbname = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    killed = postgres.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{dbname}' AND application_name = 'hubbub'"
    )
    assert killed  # the writer and the readers of the pool
    posted = await store.post(new_message(agent, channel, "second"))
    assert posted.message.content == "second"
    contents = [m.content for m in await store.messages(channel.id, after=0, before=None, limit=5)]
    assert contents == ["first", "second"]


async def test_a_write_waiting_too_long_for_the_lock_is_503(url: str, postgres: Cluster) -> None:
    store = PostgresStore(url, statement_timeout=0.3)
    await store.open()
    try:
        agent = await store.ensure_agent("lap-alpha", "lap", "agent")
        dbname = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
        with postgres.admin(str(dbname)) as holder:
            holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
            with pytest.raises(Unavailable) as waited:
                await store.create_channel(NewChannel(name="late", created_by=agent.id))
            assert waited.value.code == "db_timeout"
        # The writer goes on once the lock is free.
        made = await store.create_channel(NewChannel(name="late", created_by=agent.id))
        assert made.name == "late"
    finally:
        await store.close()


async def test_the_bus_delivers_another_process_s_commits_in_order_and_catches_up(
    url: str, postgres: Cluster
) -> None:
    """A bus follows the log: commits of another store arrive in order; after its listening
    connection is cut, it reconnects and publishes what committed meanwhile, once."""
    writer, reader = PostgresStore(url), PostgresStore(url)
    await writer.open()
    await reader.open()
    bus = PostgresBus(url, min_delay=0.01, max_delay=0.1)
    try:
        await bus.start(reader)
        subscription = bus.subscribe()
        agent, channel = await seed(writer)
        got: list[StoredEvent] = []

        async def collect(count: int) -> None:
            while len(got) < count:
                got.extend(await subscription.next_batch(10))

        await asyncio.wait_for(collect(2), 10)  # channel.created, member.joined
        for i in range(20):
            await writer.post(new_message(agent, channel, f"m{i}"))
        await asyncio.wait_for(collect(22), 10)
        reconnects = bus.reconnects
        postgres.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'hubbub-bus'"
        )
        for i in range(20, 40):
            await writer.post(new_message(agent, channel, f"m{i}"))
        await asyncio.wait_for(collect(42), 10)
        assert bus.reconnects > reconnects
        every = await writer.events_after(0, 1000)
        assert [e.seq for e in got] == [e.seq for e in every]
    finally:
        await bus.stop()
        await reader.close()
        await writer.close()


def test_open_store_picks_the_engine_from_the_url() -> None:
    for db in ("postgresql://u@localhost/hub", "postgres://u:pw@db:5432/hub?sslmode=require"):
        assert isinstance(open_store(db), PostgresStore)


async def test_text_with_a_nul_character_is_refused_cleanly(store: PostgresStore) -> None:
    """PostgreSQL cannot store U+0000 in text: a clear 422, and the batch goes on."""
    agent, channel = await seed(store)
    outcomes = await asyncio.gather(
        store.post(new_message(agent, channel, "a\x00b")),
        store.post(new_message(agent, channel, "fine")),
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], InvalidInput)
    assert outcomes[0].code == "invalid"
    stored = await store.messages(channel.id, after=0, before=None, limit=5)
    assert [m.content for m in stored] == ["fine"]


async def test_the_schema_has_the_tables_and_columns_of_sqlite(
    store: PostgresStore, url: str, tmp_path: Path
) -> None:
    sqlite = SqliteStore(tmp_path / "schema.db")
    await sqlite.open()
    await sqlite.close()
    conn = sqlite3.connect(tmp_path / "schema.db")
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'messages_fts%'"
            )
        ]
        expected = {t: {r[1] for r in conn.execute(f"PRAGMA table_info({t})")} for t in tables}
    finally:
        conn.close()
    with psycopg.connect(url) as pg:
        found: dict[str, set[str]] = {}
        # The stored search vector is PostgreSQL's own index, as messages_fts is SQLite's.
        for table, column in pg.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND is_generated = 'NEVER'"
        ):
            found.setdefault(table, set()).add(column)
    assert found == expected


async def test_a_post_to_a_channel_archived_since_the_caller_looked_writes_nothing(
    store: PostgresStore, url: str
) -> None:
    agent, channel = await seed(store)
    await store.post(new_message(agent, channel, "before"))
    await store.archive_channel(channel.id)
    with pytest.raises(Conflict) as refused:
        await store.post(new_message(agent, channel, "after"))
    assert refused.value.code == "channel_archived"
    with psycopg.connect(url) as pg:
        assert pg.execute("SELECT content FROM messages").fetchall() == [("before",)]
