"""The claim path's statements on PostgreSQL, planned over a large table: claim-next seeks
``tasks_claimable`` once per target and the lease sweep ``tasks_leases``, in custom plans and
in the generic plan a prepared statement may switch to after five runs; none reads the whole
table."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg.rows import dict_row

from hubbub.store import tasks
from hubbub.store.postgres.engine import PostgresSession
from tests.postgres import Cluster

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


@pytest.fixture
def database(postgres: Cluster) -> Iterator[str]:
    """A fresh database on the session's server (as its superuser), dropped afterwards."""
    name = postgres.new_database()
    yield postgres.url(name)
    postgres.drop_database(name)


FUTURE = 4_000_000_000_000_000
"""Microseconds since the epoch, in 2096: leases that do not run out during the test."""
POPULATE = [
    """INSERT INTO agents (name, machine, capabilities, created_at, updated_at)
       SELECT 'lap-a' || g, 'lap', jsonb_build_array('cap' || (g % 50), 'gpu'), 0, 0
       FROM generate_series(1, 500) g""",
    """INSERT INTO channels (name, created_by, created_at)
       SELECT 'ch' || g, 1, 0 FROM generate_series(1, 20) g""",
    """INSERT INTO members (channel_id, agent_id, joined_at)
       SELECT c.id, a.id, 0 FROM channels c, agents a WHERE a.id % 5 = c.id % 5""",
    # The history (done), live leases (in the future), and the queue (open).
    f"""INSERT INTO tasks (title, target, priority, status, created_by, holder_id, fence,
                          lease_seconds, max_attempts, last_seen_at, created_at, updated_at,
                          lease_expires_at)
       SELECT 't', 'cap:cap' || (g % 50), g % 3,
              CASE WHEN g <= 150000 THEN 'done' ELSE 'claimed' END, 1, 2, 1, 600, 3, 0, 0, 0,
              CASE WHEN g > 150000 THEN {FUTURE} + g END
       FROM generate_series(1, 155000) g""",
    """INSERT INTO tasks (title, target, priority, created_by, lease_seconds, max_attempts,
                          last_seen_at, created_at, updated_at)
       SELECT 't', CASE WHEN g % 10 = 0 THEN '#ch' || (g % 20 + 1) ELSE 'cap:cap' || (g % 50) END,
              g % 3, 1, 600, 3, 0, 0, 0
       FROM generate_series(1, 20000) g""",
    "ANALYZE",
]


async def test_the_claim_path_seeks_its_indexes_in_custom_and_generic_plans(database: str) -> None:
    """Each statement's plan, as the server ran it (auto_explain), on 175,000 tasks: claim-next
    seeks ``tasks_claimable`` per target and the lease sweep ``tasks_leases``; none reads the
    whole table. A generic plan is what a prepared statement may switch to after five runs."""
    with psycopg.connect(database, autocommit=True) as setup:
        # Rows made in bulk, without a foreign-key check (a trigger) per row.
        setup.execute(b"SET session_replication_role = replica")
        for sql in POPULATE:
            setup.execute(sql.encode())
        me = setup.execute("SELECT id FROM agents WHERE name = 'lap-a7'").fetchone()
        assert me is not None
    plans: list[str] = []
    conn = await psycopg.AsyncConnection.connect(database, row_factory=dict_row)
    try:
        conn.add_notice_handler(lambda notice: plans.append(notice.message_primary or ""))
        for setting in ("LOAD 'auto_explain'", "SET auto_explain.log_min_duration = 0"):
            await conn.execute(setting.encode())
        await conn.execute(b"SET auto_explain.log_level = notice")
        await conn.commit()
        for mode, prepare in (("auto", None), ("force_generic_plan", 0)):
            conn.prepare_threshold = prepare  # 0: every statement prepared at once
            await conn.execute(f"SET plan_cache_mode = {mode}".encode())
            await conn.commit()
            plans.clear()
            # The store's own statements (each rendered by Query.sql(POSTGRES)), as the writer
            # runs them.
            session = PostgresSession(conn, writer=True)
            claimed = await tasks.claim_next(session, me[0], None)
            assert claimed is not None
            assert await tasks.next_expiry(session) is not None
            await conn.rollback()
            whole_table = [p for p in plans if "Seq Scan on tasks " in p]
            assert not whole_table, (mode, whole_table)
            assert any("UPDATE tasks" in p and "tasks_claimable" in p for p in plans), plans
            assert any("lease_expires_at <=" in p and "tasks_leases" in p for p in plans), plans
    finally:
        await conn.close()
