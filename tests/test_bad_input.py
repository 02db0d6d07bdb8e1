"""Every bad input is a 4xx problem, the same on both engines, and writes nothing: integers
beyond 64 bits or written in other digits, text holding NUL (U+0000), values of the wrong JSON
type; and an export that holds NUL from an older hub still imports, each NUL replaced."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from hubbub.core import values
from hubbub.core.integrations import MAX_DEDUPE_KEY
from hubbub.core.messages import MAX_IDEMPOTENCY_KEY
from hubbub.core.values import MAX_ID, REPLACEMENT
from hubbub.server import bodies
from hubbub.store import dumpfile, transfer
from tests.clients import API, AgentClient, InProcessHub, problem
from tests.live import HUBBUB, clean_env
from tests.moving import running
from tests.postgres import Cluster

pytestmark = pytest.mark.anyio

HUGE = (MAX_ID + 1, 10**30)
"""Integers no 64-bit column holds: SQLite overflowed on them, PostgreSQL refused them."""


def state(hub: InProcessHub) -> dict[str, list[str]]:
    """What the requests could have written, read straight from the database (agents without
    the last-seen time a request may refresh)."""
    tables = {
        "keys": "SELECT * FROM keys",
        "agents": "SELECT id, name, label, tags, capabilities, status, status_note, visibility "
        "FROM agents",
        "users": "SELECT * FROM users",
        "integrations": "SELECT * FROM integrations",
        **{t: f"SELECT * FROM {t}" for t in ("channels", "members", "messages", "inbox")},
        **{t: f"SELECT * FROM {t}" for t in ("tasks", "events")},
    }
    return {name: sorted(map(repr, hub.query(sql))) for name, sql in tables.items()}


async def refused(
    hub: InProcessHub,
    agent: AgentClient,
    method: str,
    path: str,
    *,
    body: Any = None,
    params: dict[str, Any] | None = None,
    headers: dict[str, Any] | None = None,
    admin: bool = False,
    status: int = 422,
    code: str = "invalid",
) -> dict[str, Any]:
    """Send a request that must be refused with ``status`` and ``code`` and change nothing."""
    before = state(hub)
    sent = {**(hub.admin_headers if admin else agent.headers), **(headers or {})}
    response = await hub.http.request(method, API + path, json=body, params=params, headers=sent)
    found = problem(response, status, code)
    assert state(hub) == before, f"{method} {path} wrote something"
    return found


async def scene(hub: InProcessHub, alpha: AgentClient) -> dict[str, int]:
    """A message and a task alpha holds, to aim the requests at."""
    message = await alpha.say("general", "first")
    beta = await hub.agent("lap-beta")
    task = await beta.ok("POST", "/tasks", {"title": "Do it", "target": "@lap-alpha"})
    claimed = await alpha.ok("POST", f"/tasks/{task['id']}/claim")
    return {"message": message["id"], "task": task["id"], "fence": claimed["fence"]}


# integers beyond 64 bits, everywhere the API takes one


def _huge_bodies(ids: dict[str, int], n: int) -> list[tuple[str, str, dict[str, Any]]]:
    task = f"/tasks/{ids['task']}"
    fence = ids["fence"]
    return [
        ("POST", "/channels/general/messages", {"content": "x", "reply_to": n}),
        ("POST", "/send", {"target": "#general", "content": "x", "reply_to": n}),
        ("PUT", "/channels/general/cursor", {"seq": n}),
        ("POST", "/inbox/ack", {"up_to": n}),
        ("POST", "/inbox/ack", {"ids": [1, n]}),
        ("POST", "/tasks", {"title": "t", "target": "#general", "priority": n}),
        ("POST", "/tasks", {"title": "t", "target": "#general", "max_attempts": n}),
        ("POST", f"{task}/renew", {"fence": n}),
        ("POST", f"{task}/progress", {"fence": n, "percent": 5}),
        ("POST", f"{task}/progress", {"fence": fence, "percent": n}),
        ("POST", f"{task}/complete", {"fence": n}),
        ("POST", f"{task}/fail", {"fence": n}),
        ("POST", f"{task}/release", {"fence": n}),
    ]


def _huge_queries(ids: dict[str, int], n: int) -> list[tuple[str, dict[str, Any]]]:
    task = f"/tasks/{ids['task']}"
    return [
        ("/channels/general/messages", {"after": n}),
        ("/channels/general/messages", {"before": n}),
        ("/channels/general/messages", {"limit": n}),
        ("/inbox", {"after": n}),
        ("/tasks", {"after": n}),
        (f"{task}/events", {"after": n}),
        (f"{task}/deliveries", {"before": n}),
        ("/search", {"q": "first", "limit": n}),
        ("/events", {"after": n}),
    ]


def _huge_paths(n: int) -> list[tuple[str, str]]:
    return [
        ("GET", f"/messages/{n}"),
        ("GET", f"/messages/{n}/thread"),
        ("DELETE", f"/messages/{n}"),
        ("GET", f"/tasks/{n}"),
        ("GET", f"/tasks/{n}/events"),
        ("POST", f"/tasks/{n}/claim"),
        ("POST", f"/tasks/{n}/cancel"),
        ("GET", f"/tasks/{n}/deliveries"),
    ]


@pytest.mark.parametrize("n", HUGE)
async def test_integers_beyond_64_bits_are_422_everywhere(
    hub: InProcessHub, alpha: AgentClient, n: int
) -> None:
    ids = await scene(hub, alpha)
    for method, path, body in _huge_bodies(ids, n):
        # A percent is checked by the core, with its own code: it fits no range anyway.
        code = "bad_progress" if body.get("percent") == n else "invalid"
        await refused(hub, alpha, method, path, body=body, code=code)
    for path, params in _huge_queries(ids, n):
        await refused(hub, alpha, "GET", path, params=params)
    for method, path in _huge_paths(n):
        await refused(hub, alpha, method, path, body={"fence": 1} if "claim" in path else None)
    await refused(hub, alpha, "PATCH", f"/messages/{n}", body={"content": "x"})
    await refused(hub, alpha, "GET", "/events", headers={"Last-Event-ID": str(n)})
    await refused(hub, alpha, "DELETE", f"/admin/keys/{n}", admin=True)
    await hub.hub.integrations.create("paging", scopes=[], targets=[], channels=[])
    await refused(
        hub, alpha, "GET", "/admin/integrations/paging/deliveries", params={"before": n}, admin=True
    )


async def test_the_largest_id_is_taken_and_found_missing(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    """2^63-1 is in range: a lookup of it is a 404, a cursor at it a page with nothing after."""
    await alpha.say("general", "one")
    problem(await alpha.get(f"/messages/{MAX_ID}"), 404, "message_not_found")
    problem(await alpha.get(f"/tasks/{MAX_ID}"), 404, "task_not_found")
    page = await alpha.ok("GET", "/channels/general/messages", params={"after": MAX_ID})
    assert page["messages"] == []
    assert (await alpha.inbox(after=MAX_ID))["items"] == []


# ids and cursors are ASCII digits only


@pytest.mark.parametrize(
    "raw",
    ["%C2%B2", "%D9%A3", "%EF%BC%93", "+3", "-0", "3.0", "%203", "0x3", "1_0", "3e0"],
    ids=[
        "superscript",
        "arabic-indic",
        "fullwidth",
        "plus",
        "minus-zero",
        "fraction",
        "space",
        "hex",
        "underscore",
        "exponent",
    ],
)
async def test_an_id_in_other_digits_or_forms_is_422(
    hub: InProcessHub, alpha: AgentClient, raw: str
) -> None:
    for n in range(3):  # message 3 exists: "٣" must not read it
        await alpha.say("general", f"message {n}")
    for path in (f"/messages/{raw}", f"/messages/{raw}/thread", f"/tasks/{raw}"):
        await refused(hub, alpha, "GET", path)
    await refused(hub, alpha, "DELETE", f"/admin/keys/{raw}", admin=True)


@pytest.mark.parametrize("raw", ["٣", "²", "+3", " 3", "3.0", "1_0", "0x3", "true"])
async def test_a_query_integer_in_other_digits_or_forms_is_422(
    hub: InProcessHub, alpha: AgentClient, raw: str
) -> None:
    for path, name in (
        ("/channels/general/messages", "after"),
        ("/channels/general/messages", "limit"),
        ("/inbox", "after"),
        ("/tasks", "limit"),
        ("/events", "after"),
    ):
        await refused(hub, alpha, "GET", path, params={name: raw})


@pytest.mark.parametrize("raw", [b"\xb2", b"+3", b"3.0", b"-1"])
async def test_a_last_event_id_in_other_digits_or_forms_is_422(
    hub: InProcessHub, alpha: AgentClient, raw: bytes
) -> None:
    await refused(hub, alpha, "GET", "/events", headers={"Last-Event-ID": raw})


# NUL, in every text the hub takes


def _nul_bodies(ids: dict[str, int]) -> list[tuple[str, str, dict[str, Any]]]:
    task = f"/tasks/{ids['task']}"
    fence = ids["fence"]
    new_task = {"title": "t", "target": "#general"}
    return [
        ("POST", "/channels/general/messages", {"content": "a\x00b"}),
        ("POST", "/channels/general/messages", {"content": "ok", "metadata": {"k": "\x00"}}),
        ("POST", "/channels/general/messages", {"content": "ok", "metadata": {"k\x00": 1}}),
        (
            "POST",
            "/channels/general/messages",
            {"content": "ok", "metadata": {"deep": [1, {"deeper": ["x", "y\x00"]}]}},
        ),
        ("POST", "/send", {"target": "#general", "content": "\x00"}),
        ("POST", "/send", {"target": "#gen\x00eral", "content": "x"}),
        ("PATCH", f"/messages/{ids['message']}", {"content": "edited\x00"}),
        ("PATCH", f"/messages/{ids['message']}", {"metadata": {"a": ["\x00"]}}),
        ("POST", "/channels", {"name": "fresh\x00"}),
        ("POST", "/channels", {"name": "fresh", "topic": "about\x00"}),
        ("POST", "/channels/general/invite", {"agent": "lap-beta\x00"}),
        ("PATCH", "/me", {"label": "x\x00"}),
        ("PATCH", "/me", {"tags": ["ok", "x\x00"]}),
        ("PATCH", "/me", {"capabilities": ["\x00"]}),
        ("PATCH", "/me", {"status_note": "busy\x00"}),
        ("POST", "/me/heartbeat", {"note": "\x00"}),
        ("POST", "/tasks", {**new_task, "title": "t\x00"}),
        ("POST", "/tasks", {**new_task, "target": "#general\x00"}),
        ("POST", "/tasks", {**new_task, "body": "b\x00"}),
        ("POST", "/tasks", {**new_task, "labels": ["a\x00"]}),
        ("POST", "/tasks", {**new_task, "dedupe_key": "k\x00"}),
        (
            "POST",
            "/tasks",
            {**new_task, "callback_url": "https://a.example/\x00", "callback_secret": "s"},
        ),
        (
            "POST",
            "/tasks",
            {**new_task, "callback_url": "https://a.example/", "callback_secret": "\x00"},
        ),
        ("POST", f"{task}/progress", {"fence": fence, "note": "\x00"}),
        ("POST", f"{task}/complete", {"fence": fence, "result": {"r": ["\x00"]}}),
        ("POST", f"{task}/complete", {"fence": fence, "result": "\x00"}),
        ("POST", f"{task}/fail", {"fence": fence, "text": "why\x00"}),
        ("POST", f"{task}/cancel", {"reason": "\x00"}),
    ]


async def test_nul_is_refused_in_every_text_the_api_takes(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    ids = await scene(hub, alpha)
    for method, path, body in _nul_bodies(ids):
        found = await refused(hub, alpha, method, path, body=body)
        assert "NUL" in found["detail"], found
    for path, params in (
        ("/search", {"q": "first\x00"}),
        ("/search", {"q": "first", "author": "lap-alpha\x00"}),
        ("/agents", {"tag": "\x00"}),
        ("/tasks", {"label": "x\x00"}),
        ("/tasks", {"holder": "\x00"}),
        ("/channels/general/messages", {"wait": "0", "unknown\x00": "1"}),
        ("/events", {"types": "message\x00"}),
    ):
        await refused(hub, alpha, "GET", path, params=params)
    for path in ("/agents/lap-alpha%00", "/channels/general%00", "/channels/general%00/messages"):
        await refused(hub, alpha, "GET", path)


async def test_nul_is_refused_in_admin_and_integration_bodies(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    for path, body in (
        ("/admin/keys", {"machine": "box", "label": "\x00"}),
        ("/admin/keys", {"machine": "box\x00"}),
        ("/admin/users", {"name": "ann-lee", "password": "long enough\x00"}),
        ("/admin/integrations", {"name": "pager\x00"}),
        ("/admin/integrations", {"name": "pager", "targets": ["#ops\x00"]}),
        ("/admin/integrations", {"name": "pager", "webhook_url": "https://a.example/\x00"}),
    ):
        await refused(hub, alpha, "POST", path, body=body, admin=True)
    await hub.hub.users.create("ann-lee", "long enough")
    await refused(
        hub,
        alpha,
        "PUT",
        "/admin/users/ann-lee/password",
        body={"password": "another one\x00"},
        admin=True,
    )
    made = await hub.hub.integrations.create(
        "pager", scopes=["tasks:create", "tasks:update"], targets=["*"], channels=["*"]
    )
    token = {"Authorization": f"Bearer {made.token}"}
    for body in (
        {"action": "trigger", "dedupe_key": "k\x00", "title": "t", "target": "#general"},
        {"action": "trigger", "dedupe_key": "k", "title": "t\x00", "target": "#general"},
        {
            "action": "trigger",
            "dedupe_key": "k",
            "title": "t",
            "target": "#general",
            "body": "\x00",
        },
        {"action": "update", "dedupe_key": "k", "labels": ["\x00"]},
    ):
        await refused(hub, alpha, "POST", "/integrations/events", body=body, headers=token)


# no coercion from another JSON type


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/inbox/ack", {"up_to": False}),
        ("/inbox/ack", {"ids": [True]}),
        ("/inbox/ack", {"ids": ["1"]}),
        ("/inbox/ack", {"up_to": 1.5}),
        ("/channels/general/cursor", {"seq": True}),
        ("/channels/general/cursor", {"seq": "1"}),
        ("/tasks", {"title": "t", "target": "#general", "priority": True}),
        ("/tasks", {"title": "t", "target": "#general", "lease_seconds": "60"}),
        ("/tasks", {"title": "t", "target": "#general", "offer": 1}),
        ("/tasks", {"title": 5, "target": "#general"}),
        ("/tasks", {"title": "t", "target": "#general", "due_at": 1767225600}),
        ("/tasks", {"title": "t", "target": "#general", "labels": "ops"}),
        ("/tasks/claim", {"lease_seconds": "60"}),
        ("/tasks/claim", {"wait": False}),
        ("/channels/general/messages", {"content": 5}),
        ("/channels/general/messages", {"content": "x", "reply_to": "1"}),
        ("/channels", {"name": "ok", "visibility": True}),
        ("/me/heartbeat", {"note": 5}),
    ],
)
async def test_a_value_of_another_json_type_is_422_not_coerced(
    hub: InProcessHub, alpha: AgentClient, path: str, body: dict[str, Any]
) -> None:
    method = "PUT" if path.endswith("/cursor") else "POST"
    await refused(hub, alpha, method, path, body=body)


async def test_task_fields_of_another_json_type_are_422(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    ids = await scene(hub, alpha)
    task, fence = f"/tasks/{ids['task']}", ids["fence"]
    for path, body in (
        (f"{task}/renew", {"fence": str(fence)}),
        (f"{task}/renew", {"fence": fence, "lease_seconds": "60"}),
        (f"{task}/progress", {"fence": fence, "percent": "50"}),
        (f"{task}/progress", {"fence": fence, "percent": True}),
        (f"{task}/release", {"fence": True}),
    ):
        await refused(hub, alpha, "POST", path, body=body)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/inbox", {"include_acked": "1"}),
        ("/inbox", {"include_acked": "yes"}),
        ("/inbox", {"include_acked": "True"}),
        ("/channels", {"include_archived": "on"}),
        ("/inbox", {"limit": "true"}),
        ("/inbox", {"wait": "nan"}),
        ("/inbox", {"wait": "inf"}),
        ("/search", {"q": "x", "since": "1767225600"}),
    ],
)
async def test_a_query_value_of_another_type_is_422(
    hub: InProcessHub, alpha: AgentClient, path: str, params: dict[str, str]
) -> None:
    await refused(hub, alpha, "GET", path, params=params)


async def test_a_number_without_a_fraction_is_an_integer(alpha: AgentClient) -> None:
    """JSON Schema counts ``2.0`` as the integer 2, and so does the hub."""
    posted = await alpha.say("general", "one")
    cursor = await alpha.ok("PUT", "/channels/general/cursor", {"seq": float(posted["id"])})
    assert cursor["seq"] == posted["id"]
    task = await alpha.ok(
        "POST", "/tasks", {"title": "t", "target": "tag:x", "priority": 2.0, "max_attempts": 4.0}
    )
    assert (task["priority"], task["max_attempts"]) == (2, 4)


async def test_nan_and_infinity_are_refused(hub: InProcessHub, alpha: AgentClient) -> None:
    for raw in (b'{"wait": NaN}', b'{"lease_seconds": Infinity}', b'{"wait": -Infinity}'):
        before = state(hub)
        response = await hub.http.post(
            f"{API}/tasks/claim",
            content=raw,
            headers={**alpha.headers, "Content-Type": "application/json"},
        )
        problem(response, 422, "invalid")
        assert state(hub) == before


def test_the_patterns_name_only_what_the_core_refuses() -> None:
    """The schema's character classes agree with the core's rules: whitespace is exactly what
    ``str.strip`` removes, and every character a key's pattern leaves out is unprintable."""
    assert "".join(c for c in map(chr, range(0x110000)) if c.isspace()) == values.WHITESPACE
    assert not any(c.isprintable() for c in bodies.UNPRINTABLE)
    assert MAX_DEDUPE_KEY == MAX_IDEMPOTENCY_KEY  # one Printable type serves both


# an older export that holds NUL


def _inject_nul(db: Path) -> None:
    """What an older hub let through: NUL in a message's text and metadata, its event, and a
    channel topic (written straight into the SQLite file, as this hub refuses it)."""
    conn = sqlite3.connect(db)
    try:
        conn.execute(
            "UPDATE messages SET content = ?, metadata = ? WHERE content = 'hello'",
            ("he\x00llo\x00", json.dumps({"note": "a\x00b", "keep": "\\u0000 as text"})),
        )
        conn.execute("UPDATE channels SET topic = ? WHERE name = 'general'", ("t\x00pic",))
        conn.commit()
    finally:
        conn.close()


async def _export_holding_nul(source: Path) -> bytes:
    """An export of a hub on ``source`` whose rows were given NULs behind its back."""
    async with running(str(source)) as hub:
        alpha = await hub.agent("lap-alpha")
        await alpha.say("general", "hello")
    _inject_nul(source)
    out = io.BytesIO()
    await dumpfile.export(transfer.open_direct(str(source)), out)
    return out.getvalue()


@pytest.mark.postgres
async def test_an_export_holding_nul_imports_into_postgres_with_each_replaced(
    tmp_path: Path, postgres: Cluster
) -> None:
    exported = await _export_holding_nul(tmp_path / "old.db")
    assert b"\\u0000" in exported
    target = postgres.url(postgres.new_database())
    moved = await dumpfile.load(transfer.open_direct(target), io.BytesIO(exported))
    assert moved.replaced == {
        "channels.topic": 1,
        "messages.content": 2,
        "messages.metadata": 1,
    }
    async with running(target) as hub:
        admin = {**hub.admin_headers, "X-Hubbub-Agent": "lap-alpha"}
        response = await hub.http.get(f"{API}/channels/general/messages", headers=admin)
        message = next(m for m in response.json()["messages"] if m["content"].startswith("he"))
        assert message["content"] == f"he{REPLACEMENT}llo{REPLACEMENT}"
        # Only real NULs: text that spells the escape out stays as it was.
        assert message["metadata"] == {"note": f"a{REPLACEMENT}b", "keep": "\\u0000 as text"}
        channel = await hub.http.get(f"{API}/channels/general", headers=admin)
        assert channel.json()["topic"] == f"t{REPLACEMENT}pic"


@pytest.mark.e2e
async def test_hubbub_import_says_how_many_nuls_it_replaced_and_where(tmp_path: Path) -> None:
    file = tmp_path / "old.jsonl"
    file.write_bytes(await _export_holding_nul(tmp_path / "old.db"))

    def load(target: Path, *flags: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(HUBBUB), "import", str(file), "--db", str(target), *flags],
            capture_output=True,
            text=True,
            env=clean_env(tmp_path),
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, (done.stdout, done.stderr)
        return done

    summary = json.loads(load(tmp_path / "a.db", "--json").stdout)
    assert summary["nul_replaced"] == {
        "channels.topic": 1,
        "messages.content": 2,
        "messages.metadata": 1,
    }
    said = load(tmp_path / "b.db").stdout
    assert "Replaced 4 NUL characters (U+0000) with U+FFFD" in said, said
    assert "messages.content (2)" in said, said


async def test_an_import_into_sqlite_replaces_nul_too(tmp_path: Path) -> None:
    target = tmp_path / "new.db"
    exported = await _export_holding_nul(tmp_path / "old.db")
    moved = await dumpfile.load(transfer.open_direct(str(target)), io.BytesIO(exported))
    assert sum(moved.replaced.values()) == 4
    conn = sqlite3.connect(target)
    try:
        texts = [row[0] for row in conn.execute("SELECT content FROM messages")]
    finally:
        conn.close()
    assert f"he{REPLACEMENT}llo{REPLACEMENT}" in texts
    assert not any("\x00" in text for text in texts)


async def test_a_bad_task_filter_is_refused_even_when_no_agent_matches(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    """An unknown agent in a filter answers an empty page, but only once every other filter
    has been checked (schemathesis found `?created_by=@nobody&target=` answered 200)."""
    nobody = {"created_by": "@nobody-here"}
    await refused(hub, alpha, "GET", "/tasks", params={**nobody, "target": ""}, code="bad_target")
    await refused(hub, alpha, "GET", "/tasks", params={**nobody, "label": ""}, code="bad_name")
    page = await alpha.ok("GET", "/tasks", params=nobody)
    assert page["tasks"] == []
