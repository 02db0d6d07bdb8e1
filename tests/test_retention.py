"""Retention: messages past their channel's (or the hub's) age and tasks finished long ago are
removed for good, in batches, and nothing newer is touched — through the admin routes, the
SDK and ``hubbub prune``, on both engines. Rows are made old by moving their stored times back
(microseconds since the epoch), straight in the database."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.clients import API, AgentClient, InProcessHub, problem
from tests.live import HUBBUB, clean_env, running_hub

pytestmark = pytest.mark.anyio

DAY_US = 86_400 * 1_000_000


def age(hub: InProcessHub, table: str, column: str, ids: Sequence[int], days: float) -> None:
    """Move ``column`` of these rows ``days`` into the past."""
    back = int(days * DAY_US)
    marks = ", ".join("?" for _ in ids)
    sql = f"UPDATE {table} SET {column} = {column} - {back} WHERE id IN ({marks})"
    if hub.db_url is not None:
        import psycopg

        with psycopg.connect(hub.db_url) as pg:
            pg.execute(sql.replace("?", "%s"), list(ids))
        return
    conn = sqlite3.connect(hub.db_path, timeout=30)
    try:
        with conn:
            conn.execute(sql, list(ids))
    finally:
        conn.close()


async def admin(hub: InProcessHub, method: str, path: str, body: Any = None) -> Any:
    answer = await hub.http.request(method, f"{API}{path}", json=body, headers=hub.admin_headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def posted(agent: AgentClient, channel: str, count: int, prefix: str) -> list[int]:
    return [(await agent.say(channel, f"{prefix} {n}"))["id"] for n in range(count)]


def ids_in(hub: InProcessHub, channel: str) -> set[int]:
    rows = hub.query(
        "SELECT m.id FROM messages m JOIN channels c ON c.id = m.channel_id WHERE c.name = ?",
        (channel,),
    )
    return {int(r[0]) for r in rows}


async def test_old_messages_go_everywhere_and_newer_ones_stay(
    hub_factory: Any,
) -> None:
    async with hub_factory(message_retention_days=30) as hub:
        alpha, beta = await hub.agent("lap-alpha"), await hub.agent("lap-beta")
        old = await posted(alpha, "general", 12, "aged words about zanzibar")
        old.append((await alpha.say("general", "@lap-beta aged mention of zanzibar"))["id"])
        age(hub, "messages", "created_at", old, days=40)
        new = await posted(alpha, "general", 5, "fresh words about zanzibar")
        before = hub.snapshot()
        plan = await admin(hub, "GET", "/admin/retention")
        assert plan["dry_run"] is True
        assert [(r["channel"], r["messages"]) for r in plan["rules"]] == [(None, len(old))]
        assert hub.snapshot() == before  # a dry run removes nothing
        done = await admin(hub, "POST", "/admin/retention/prune")
        assert done["rules"][0]["messages"] == len(old)
        assert ids_in(hub, "general") == set(new)
        found = await beta.search("zanzibar")
        assert {m["message"]["id"] for m in found} == set(new)
        inbox = await beta.inbox()
        assert not [i for i in inbox["items"] if i.get("message", {}).get("id") in old]
        carried = hub.query("SELECT payload FROM events WHERE type LIKE ?", ("message.%",))
        assert not [p for (p,) in carried if "aged" in str(p)]
        again = await admin(hub, "GET", "/admin/retention")
        assert again["rules"][0]["messages"] == 0


async def test_a_channel_keeps_its_own_retention(hub_factory: Any) -> None:
    async with hub_factory(message_retention_days=30) as hub:
        alpha = await hub.agent("lap-alpha")
        for name in ("keep", "brief"):
            await alpha.ok("POST", "/channels", {"name": name})
        # Older first, as time goes: ids grow with it.
        common = await posted(alpha, "general", 3, "common")
        kept = await posted(alpha, "keep", 3, "kept")
        brief = await posted(alpha, "brief", 3, "brief")
        age(hub, "messages", "created_at", kept + common, days=40)
        age(hub, "messages", "created_at", brief, days=2)
        ruled = await admin(hub, "PUT", "/admin/channels/keep/retention", {"retention_days": 365})
        assert ruled["retention_days"] == 365
        await admin(hub, "PUT", "/admin/channels/brief/retention", {"retention_days": 1})
        plan = await admin(hub, "GET", "/admin/retention")
        counts = {rule["channel"]: rule["messages"] for rule in plan["rules"]}
        assert counts == {None: 3, "keep": 0, "brief": 3}
        await admin(hub, "POST", "/admin/retention/prune")
        assert ids_in(hub, "keep") == set(kept)
        assert ids_in(hub, "brief") == set()
        assert ids_in(hub, "general") == set()
        reset = await admin(hub, "PUT", "/admin/channels/keep/retention", {"retention_days": None})
        assert reset["retention_days"] is None
        await admin(hub, "POST", "/admin/retention/prune")
        assert ids_in(hub, "keep") == set()  # the hub's 30 days rule it again


async def test_finished_tasks_go_and_open_ones_stay(hub_factory: Any) -> None:
    async with hub_factory(task_retention_days=7) as hub:
        alpha = await hub.agent("lap-alpha")
        done = await alpha.ok("POST", "/tasks", {"title": "old and done", "target": "#general"})
        claimed = await alpha.ok("POST", f"/tasks/{done['id']}/claim", {})
        await alpha.ok(
            "POST", f"/tasks/{done['id']}/complete", {"fence": claimed["fence"], "text": "ok"}
        )
        still = await alpha.ok("POST", "/tasks", {"title": "old but open", "target": "#general"})
        age(hub, "tasks", "updated_at", [done["id"], still["id"]], days=10)
        report = await admin(hub, "POST", "/admin/retention/prune")
        assert report["tasks"] == 1
        assert [r[0] for r in hub.query("SELECT id FROM tasks")] == [still["id"]]
        events = hub.query("SELECT payload FROM events WHERE type LIKE ?", ("task.%",))
        assert not [p for (p,) in events if "old and done" in str(p)]


async def test_pruning_under_load_keeps_everything_newer(hub_factory: Any) -> None:
    async with hub_factory(message_retention_days=30, rate_limit=0) as hub:
        alpha = await hub.agent("lap-alpha")
        old = await posted(alpha, "general", 1200, "aged")
        age(hub, "messages", "created_at", old, days=31)
        pruning = asyncio.ensure_future(hub.hub.retention.prune(batch=100))
        during: list[int] = []
        while not pruning.done():
            during.append((await alpha.say("general", f"during {len(during)}"))["id"])
        report = await pruning
        assert report.rules[0].messages == len(old)
        assert during, "no post was answered while the prune ran"
        assert ids_in(hub, "general") == set(during)


async def test_bad_retention_input_changes_nothing(hub: InProcessHub, alpha: AgentClient) -> None:
    before = hub.snapshot()
    path = f"{API}/admin/channels/general/retention"
    for days in (0, -1, 1e9):
        answer = await hub.http.put(path, json={"retention_days": days}, headers=hub.admin_headers)
        problem(answer, 422)
    unknown = await hub.http.put(
        f"{API}/admin/channels/nowhere/retention",
        json={"retention_days": 5},
        headers=hub.admin_headers,
    )
    problem(unknown, 404, "channel_not_found")
    problem(await alpha.put("/admin/channels/general/retention", {"retention_days": 5}), 403)
    problem(await alpha.post("/admin/retention/prune"), 403, "admin_only")
    assert hub.snapshot() == before


@pytest.mark.e2e
def test_hubbub_prune_shows_and_does(tmp_path: Path) -> None:
    env = {"HUBBUB_MESSAGE_RETENTION_DAYS": "30"}
    with running_hub(tmp_path, env=env) as hub:
        key = hub.config()["key"]
        said = hub.request(
            "POST",
            f"{API}/channels/general/messages",
            key=key,
            agent="lap-x",
            json={"content": "x"},
        )
        assert said.status_code == 201, said.text

        def prune(*args: str) -> dict[str, Any]:
            done = subprocess.run(
                [str(HUBBUB), "prune", "--json", *args],
                capture_output=True,
                text=True,
                env=clean_env(tmp_path, HUBBUB_CONFIG=str(hub.config_path)),
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            found: dict[str, Any] = json.loads(done.stdout)
            return found

        shown = prune("--dry-run")
        assert shown["dry_run"] is True
        assert shown["rules"][0]["days"] == 30
        assert shown["rules"][0]["messages"] == 0
        assert prune()["dry_run"] is False  # nothing was old enough: the message stays
        read = hub.request("GET", f"{API}/channels/general/messages", key=key, agent="lap-x")
        assert [m["content"] for m in read.json()["messages"]] == ["x"]
