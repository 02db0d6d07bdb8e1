"""For the tests of moving a hub between databases: an in-process hub on a given database, a
populated scene (threads, DMs, mentions, acked and unacked inbox items, read cursors, tasks in
every state, a user, an integration, events), and what each agent sees of it."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from hubbub.server import create_app
from hubbub.settings import Settings
from hubbub.store import dumpfile, is_postgres, transfer
from tests.clients import API, AgentClient, InProcessHub

AGENTS = ("lap-alpha", "lap-beta", "srv-gamma")
SEARCHES = ("cafe", "migration", "rollout", "naive")


@dataclass
class Scene:
    """What a populated hub holds that its move must keep working."""

    admin_key: str
    machine_keys: dict[str, str]
    integration_token: str
    cursor: int
    """An event ``seq`` in the middle of the log, to resume after."""
    root: int
    """The id of the thread's root message."""
    tasks: dict[str, int] = field(default_factory=dict)


@asynccontextmanager
async def running(
    db: str, scene: Scene | None = None, **settings: Any
) -> AsyncIterator[InProcessHub]:
    """An in-process hub on ``db``, with the keys of ``scene`` (after a move: the same keys
    must work) or a new admin key."""
    app = create_app(Settings(db=db, provision=False, rate_limit=0, **settings))
    async with app.router.lifespan_context(app):
        admin = (
            scene.admin_key if scene else (await app.state.hub.keys.create("admin", None, None)).key
        )
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as http:
            pg = is_postgres(db)
            yield InProcessHub(
                app,
                http,
                Path("unused.db") if pg else Path(db),
                admin,
                dict(scene.machine_keys) if scene else {},
                db_url=db if pg else None,
            )


async def admin(hub: InProcessHub, method: str, path: str, body: Any = None) -> Any:
    response = await hub.http.request(method, API + path, json=body, headers=hub.admin_headers)
    assert response.is_success, (path, response.status_code, response.text)
    return response.json()


async def populate(hub: InProcessHub) -> Scene:
    """Fill ``hub`` with a bit of everything."""
    alpha, beta, gamma = [await hub.agent(name) for name in AGENTS]
    await alpha.patch("/me", {"capabilities": ["deploy"], "tags": ["backend"]})
    root = await alpha.say("general", "Deploy plan for the café release")
    await beta.say(
        "general", "Looks good, @srv-gamma can you check the rollout?", reply_to=root["id"]
    )
    await gamma.say("general", "A naïve question about the rollout order", reply_to=root["id"])
    await alpha.send("@lap-beta", "Can you take the database migration?")
    await alpha.create_channel("tech-ops", "private")
    await alpha.ok("POST", "/channels/tech-ops/invite", {"agent": "lap-beta"})
    await beta.say("tech-ops", "Migration rehearsal at noon, @lap-alpha")
    cursor = await hub.hub.store.last_event_seq()
    edited = await gamma.say("general", "Rollout windw tonight")
    await gamma.patch(f"/messages/{edited['id']}", {"content": "Rollout window tonight"})
    gone = await beta.say("general", "wrong channel, sorry")
    await beta.delete(f"/messages/{gone['id']}")

    inbox = await beta.inbox()
    await beta.ok("POST", "/inbox/ack", {"ids": [inbox["items"][0]["id"]]})
    await gamma.ok("PUT", "/channels/general/cursor", {"seq": root["id"]})

    created = {
        "done": await gamma.ok("POST", "/tasks", {"title": "Migrate users", "target": "@lap-beta"}),
        "claimed": await beta.ok(
            "POST", "/tasks", {"title": "Deploy 1.2", "target": "cap:deploy", "labels": ["release"]}
        ),
        "failed": await gamma.ok("POST", "/tasks", {"title": "Renew certs", "target": "#general"}),
        "cancelled": await beta.ok("POST", "/tasks", {"title": "Tidy up", "target": "tag:backend"}),
        "open": await alpha.ok(
            "POST", "/tasks", {"title": "Write the runbook", "target": "#tech-ops", "priority": 5}
        ),
    }
    tasks = {state: task["id"] for state, task in created.items()}
    done = await beta.ok("POST", f"/tasks/{tasks['done']}/claim", {})
    fence = {"fence": done["fence"]}
    await beta.ok("POST", f"/tasks/{tasks['done']}/progress", {**fence, "percent": 50})
    await beta.ok("POST", f"/tasks/{tasks['done']}/complete", {**fence, "result": {"rows": 7}})
    await alpha.ok("POST", f"/tasks/{tasks['claimed']}/claim", {})
    failed = await alpha.ok("POST", f"/tasks/{tasks['failed']}/claim", {})
    await alpha.ok(
        "POST", f"/tasks/{tasks['failed']}/fail", {"fence": failed["fence"], "text": "no"}
    )
    await beta.ok("POST", f"/tasks/{tasks['cancelled']}/cancel", {"reason": "not needed"})

    await admin(hub, "POST", "/admin/users", {"name": "dana", "password": "correct horse"})
    spec = {"name": "pager", "scopes": ["tasks:create", "tasks:update"], "targets": ["*"]}
    token = (await admin(hub, "POST", "/admin/integrations", spec))["token"]
    response = await page(hub, token, "disk-full")
    assert response.status_code == 201, response.text
    tasks["paged"] = response.json()["task"]["id"]
    return Scene(hub.admin_key, dict(hub.machine_keys), token, cursor, root["id"], tasks)


def _scrub(data: Any) -> Any:
    """``data`` without what a move does not keep: when an agent was last seen (each hub
    notes its own requests)."""
    if isinstance(data, dict):
        return {k: _scrub(v) for k, v in data.items() if k != "last_seen_at"}
    if isinstance(data, list):
        return [_scrub(item) for item in data]
    return data


async def views(hub: InProcessHub, scene: Scene, *, same_engine: bool) -> dict[str, Any]:
    """Everything each agent reads: board, inbox, every channel it sees, the thread, tasks
    and their histories, searches, and the events it would be sent after ``scene.cursor``.
    Search ranks and snippets are compared only between hubs on the same engine."""
    seen: dict[str, Any] = {}
    for name in AGENTS:
        agent = await hub.agent(name)
        mine: dict[str, Any] = {
            "board": await agent.board(),
            "inbox": await agent.inbox(include_acked="true", limit=500),
            "thread": await agent.ok("GET", f"/messages/{scene.root}/thread"),
            "tasks": await agent.ok("GET", "/tasks", params={"limit": 500}),
        }
        channels = await agent.ok("GET", "/channels")
        for channel in channels:
            mine[f"#{channel['name']}"] = await agent.messages(channel["name"], limit=500)
        for task in mine["tasks"]["tasks"]:
            mine[f"task {task['id']}"] = await agent.ok("GET", f"/tasks/{task['id']}/events")
        for words in SEARCHES:
            hits = await agent.search(words, limit=50)
            mine[f"search {words}"] = (
                hits if same_engine else sorted(h["message"]["id"] for h in hits)
            )
        seen[name] = mine
    # Last: the reads above record receipts (a peek delivers) the first time round.
    for name in AGENTS:
        seen[name]["events"] = await _events(hub, await hub.agent(name), scene.cursor)
    seen["log"] = [
        (e.seq, e.type, e.payload, e.created_at, e.channel_id, e.agent_id)
        for e in await hub.hub.store.events_after(scene.cursor, 10_000)
    ]
    seen["users"] = await admin(hub, "GET", "/admin/users")
    seen["integrations"] = await admin(hub, "GET", "/admin/integrations")
    scrubbed: dict[str, Any] = _scrub(seen)
    return scrubbed


async def _events(hub: InProcessHub, agent: AgentClient, after: int) -> list[tuple[int, str]]:
    """The events ``agent``'s stream would replay after ``after`` (as the feed admits them)."""
    me = await hub.hub.store.agent(agent.name)
    assert me is not None
    scope = await hub.hub.feed.scope(me)
    log = await hub.hub.store.events_after(after, 10_000)
    return [(e.seq, e.type) for e in log if scope.admits(e)]


async def move(source: str, target: str) -> tuple[bytes, dumpfile.Moved]:
    """Export ``source`` and import the file into ``target``; the file and what it moved."""
    out = io.BytesIO()
    exported = await dumpfile.export(transfer.open_direct(source), out)
    imported = await dumpfile.load(transfer.open_direct(target), io.BytesIO(out.getvalue()))
    assert imported.counts == exported.counts
    again = io.BytesIO()
    await dumpfile.export(transfer.open_direct(target), again)
    assert rows_in(again.getvalue()) == rows_in(out.getvalue())  # every row, as it was
    return out.getvalue(), imported


def rows_in(export: bytes) -> list[tuple[str, list[Any]]]:
    """The rows of an export file, JSON text parsed (engines differ in its spacing)."""

    def value(item: Any) -> Any:
        if isinstance(item, str) and item[:1] in ("[", "{"):
            return json.loads(item)
        return item

    lines = [json.loads(line) for line in export.splitlines()[1:-1]]
    return [(line["t"], [value(item) for item in line["r"]]) for line in lines]


def largest(hub: InProcessHub, table: str, column: str = "id") -> int:
    return int(hub.query(f"SELECT coalesce(max({column}), 0) FROM {table}")[0][0])


def query(db: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows read straight from a database (either engine), no hub involved."""
    if is_postgres(db):
        import psycopg

        with psycopg.connect(db) as pg:
            return [tuple(row) for row in pg.execute(sql.encode())]
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [tuple(row) for row in conn.execute(sql)]
    finally:
        conn.close()


def contents(db: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every data table, to show that a refused import changed nothing."""
    return {t: sorted(query(db, f"SELECT * FROM {t}"), key=repr) for t in transfer.TABLES}


async def page(hub: InProcessHub, token: str, key: str) -> httpx.Response:
    """An integration's trigger: a task for ``cap:deploy`` named by ``key``."""
    body = {"action": "trigger", "dedupe_key": key, "title": f"Alert {key}", "target": "cap:deploy"}
    headers = {"Authorization": f"Bearer {token}"}
    return await hub.http.post(f"{API}/integrations/events", json=body, headers=headers)


def differences(before: Any, after: Any, path: str = "") -> list[str]:
    """Where two views differ, as readable paths (an empty list if they are equal)."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[str] = []
        for key in sorted(set(before) | set(after), key=str):
            if key not in before or key not in after:
                found.append(f"{path}/{key}: only {'after' if key in after else 'before'}")
            else:
                found += differences(before[key], after[key], f"{path}/{key}")
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            d
            for i, (b, a) in enumerate(zip(before, after, strict=True))
            for d in differences(b, a, f"{path}[{i}]")
        ]
    return [] if before == after else [f"{path}: {before!r} != {after!r}"]
