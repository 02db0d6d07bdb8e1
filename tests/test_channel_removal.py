"""Clearing and deleting channels: by the creator or an admin only; a delete only once the
channel is archived; and afterwards no trace of the removed text anywhere it lived: reads,
threads, search (either engine), inboxes, files and their links, the export, the event log,
idempotent replays, and streams resuming from before the removal (a ``stream.gap``)."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import pytest

from hubbub.core.errors import Conflict, Forbidden
from hubbub.store import dumpfile, transfer
from tests.agent_tools import acting, sdk
from tests.clients import AgentClient, InProcessHub, problem
from tests.files_support import upload
from tests.live import LiveHub, cli_of, ok_json
from tests.realtime import LiveAgents, unique
from tests.sse import open_stream

pytestmark = pytest.mark.anyio

SECRET = "zebracorn"
"""A word only the removed messages hold."""


def traces(hub: InProcessHub) -> dict[str, int]:
    """Where the secret still lies in the database, table by table (only where it does)."""
    found: dict[str, int] = {}
    for table, column in (
        ("messages", "content"),
        ("messages", "metadata"),
        ("events", "payload"),
        ("files", "name"),
    ):
        rows = hub.query(f"SELECT {column} FROM {table}")
        count = sum(1 for (value,) in rows if SECRET in str(value))
        if count:
            found[f"{table}.{column}"] = count
    chunks = hub.query("SELECT data FROM blob_chunks")
    if any(SECRET.encode() in bytes(data) for (data,) in chunks):
        found["blob_chunks"] = 1
    return found


async def exported(hub: InProcessHub) -> bytes:
    """The hub's database as ``hubbub export`` writes it."""
    out = io.BytesIO()
    await dumpfile.export(transfer.open_direct(hub.db_url or str(hub.db_path)), out)
    return out.getvalue()


async def scene(alpha: AgentClient, beta: AgentClient) -> dict[str, Any]:
    """#ops (alpha's, beta in it) full of the secret: a keyed post mentioning beta, a reply,
    an edit, a file; and #keep, which must keep its own mention of the secret."""
    await alpha.create_channel("ops")
    await alpha.create_channel("keep")
    await beta.ok("POST", "/channels/ops/join")
    keyed = await alpha.post(
        "/channels/ops/messages",
        {"content": f"the {SECRET} plan for @{beta.name}"},
        headers={"Idempotency-Key": "plan-1"},
    )
    assert keyed.status_code == 201, keyed.text
    root = keyed.json()
    reply = await beta.say("ops", f"{SECRET} reply", reply_to=root["id"])
    edited = await alpha.say("ops", "to be edited")
    await alpha.ok("PATCH", f"/messages/{edited['id']}", {"content": f"edited {SECRET}"})
    shared = await upload(alpha, "#ops", f"{SECRET} file bytes".encode(), f"{SECRET}.txt")
    assert shared.status_code == 201, shared.text
    link = await alpha.ok("POST", f"/files/{shared.json()['id']}/link", {})
    kept = await alpha.say("keep", f"the {SECRET} stays here")
    return {"root": root, "reply": reply, "file": shared.json(), "link": link, "kept": kept}


async def test_a_clear_leaves_no_trace_of_the_text(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    made = await scene(alpha, beta)
    assert len((await beta.inbox())["items"]) == 1
    done = await alpha.ok("POST", "/channels/ops/clear")
    assert done == {"channel": "ops", "action": "cleared", "messages": 4}

    assert await alpha.messages("ops") == []
    root_id = made["root"]["id"]
    problem(await alpha.get(f"/messages/{root_id}"), 404, "message_not_found")
    problem(await beta.get(f"/messages/{made['reply']['id']}/thread"), 404, "message_not_found")
    hits = await alpha.search(SECRET)
    assert [h["message"]["id"] for h in hits] == [made["kept"]["id"]]
    assert (await beta.inbox(include_acked="true"))["items"] == []
    file_id = made["file"]["id"]
    problem(await alpha.get(f"/files/{file_id}"), 404, "file_not_found")
    problem(await alpha.get(f"/files/{file_id}/content"), 404, "file_not_found")
    assert (await hub.http.get(made["link"]["path"])).status_code == 404
    assert traces(hub) == {"messages.content": 1, "events.payload": 1}  # #keep's message
    dump = await exported(hub)
    assert dump.count(SECRET.encode()) == 2  # #keep's message and its event
    replay = await alpha.post(
        "/channels/ops/messages",
        {"content": f"the {SECRET} plan for @{beta.name}"},
        headers={"Idempotency-Key": "plan-1"},
    )
    body = problem(replay, 409, "message_removed")
    assert SECRET not in replay.text
    assert body["status"] == 409
    cleared = hub.query("SELECT payload FROM events WHERE type = 'channel.cleared'")
    assert len(cleared) == 1
    payload = cleared[0][0]
    assert (json.loads(payload) if isinstance(payload, str) else payload)["messages"] == 4
    after = await alpha.say("ops", "a fresh start")  # the channel stays and takes posts
    assert [m["id"] for m in await beta.messages("ops")] == [after["id"]]
    assert (await alpha.ok("GET", "/channels/ops"))["last_message_id"] == after["id"]


async def test_only_the_creator_or_an_admin_clears_and_deletes(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    await scene(alpha, beta)
    await alpha.say("project-x", f"{SECRET} in an auto channel")
    before = hub.snapshot()
    problem(await beta.post("/channels/ops/clear"), 403, "not_creator")
    problem(await beta.delete("/channels/ops"), 403, "not_creator")
    problem(await alpha.post("/channels/project-x/clear"), 403, "not_creator")
    assert hub.snapshot() == before
    admin = AgentClient(hub.http, beta.name, hub.admin_key)
    assert (await admin.ok("POST", "/channels/project-x/clear"))["messages"] == 1
    assert (await admin.ok("POST", "/channels/ops/clear"))["messages"] == 4


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("POST", "/channels/nowhere/clear", 404, "channel_not_found"),
        ("DELETE", "/channels/nowhere", 404, "channel_not_found"),
        ("POST", "/channels/Bad%20Name/clear", 422, "bad_name"),
        ("DELETE", "/channels/Bad%20Name", 422, "bad_name"),
        ("POST", "/channels/secret-room/clear", 404, "channel_not_found"),
        ("DELETE", "/channels/ops", 409, "channel_not_archived"),
    ],
)
async def test_bad_removals_are_refused_and_change_nothing(
    hub: InProcessHub,
    alpha: AgentClient,
    beta: AgentClient,
    method: str,
    path: str,
    status: int,
    code: str,
) -> None:
    await scene(alpha, beta)
    await alpha.create_channel("secret-room", "secret")
    await alpha.say("secret-room", f"{SECRET} hidden")
    before = hub.snapshot()
    prints = traces(hub)
    actor = beta if "secret" in path else alpha  # beta may not know the secret room exists
    problem(await actor.request(method, path), status, code)
    assert hub.snapshot() == before
    assert traces(hub) == prints


async def test_a_delete_takes_an_archived_channel_and_everything_in_it(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    await scene(alpha, beta)
    task = await alpha.ok("POST", "/tasks", {"title": f"{SECRET} task", "target": "#ops"})
    await alpha.ok("POST", "/channels/ops/archive")
    done = await alpha.ok("DELETE", "/channels/ops")
    assert (done["channel"], done["action"]) == ("ops", "deleted")
    problem(await alpha.get("/channels/ops"), 404, "channel_not_found")
    problem(await alpha.get(f"/tasks/{task['id']}"), 404, "task_not_found")
    assert "ops" not in [c["name"] for c in await beta.ok("GET", "/channels")]
    assert traces(hub) == {"messages.content": 1, "events.payload": 1}
    assert hub.query("SELECT count(*) FROM tasks")[0][0] == 0
    deleted = hub.query("SELECT channel_id FROM events WHERE type = 'channel.deleted'")
    assert len(deleted) == 1
    await alpha.create_channel("ops")  # the name is free again
    assert await alpha.messages("ops") == []


async def test_removal_through_the_sdk_and_the_tools(hub: InProcessHub) -> None:
    async with sdk(hub, "lap-owner") as owner, sdk(hub, "srv-other") as other:
        await owner.create_channel("notes")
        await owner.post("notes", f"{SECRET} note")
        await other.join("notes")
        with pytest.raises(Forbidden):
            await other.clear_channel("notes")
        cleared = await owner.clear_channel("notes")
        assert (cleared.action, cleared.messages) == ("cleared", 1)
        with pytest.raises(Conflict) as refused:
            await owner.delete_channel("notes")
        assert refused.value.code == "channel_not_archived"
        await owner.archive("notes")
        deleted = await owner.delete_channel("#notes")
        assert (deleted.channel, deleted.action) == ("notes", "deleted")
    async with acting(hub, "lap-owner") as call:
        await call.ok("hubbub_create_channel", channel="#scratch")
        await call.ok("hubbub_send", to="#scratch", text=f"{SECRET} scratch")
        out = await call.ok("hubbub_clear_channel", channel="#scratch")
        assert out == {"channel": "#scratch", "action": "cleared", "messages": 1}
        await call.ok("hubbub_archive", channel="#scratch")
        gone = await call.ok("hubbub_delete_channel", channel="#scratch")
        assert gone["action"] == "deleted"
    assert traces(hub) == {}


@pytest.mark.e2e
async def test_a_stream_resuming_across_a_clear_gets_a_gap_and_not_the_text(
    realtime: LiveAgents,
) -> None:
    owner = await realtime.agent("lap-owner")
    reader = await realtime.agent("lap-reader")
    channel, other = unique("vault"), unique("after")
    await owner.create_channel(channel)
    await owner.create_channel(other)
    await reader.ok("POST", f"/channels/{channel}/join")
    await reader.ok("POST", f"/channels/{other}/join")
    async with open_stream(reader, channels=channel) as stream:
        await owner.say(channel, "before")
        start = (await stream.until(lambda e: e.type == "message.posted"))[-1].seq
    await owner.say(channel, f"the {SECRET} plan")
    await owner.ok("POST", f"/channels/{channel}/clear")
    await owner.say(other, "the end")
    async with open_stream(reader, last_event_id=start) as resumed:
        seen = await resumed.until(lambda e: e.type == "message.posted" and "the end" in e.data)
    assert seen[0].type == "stream.gap", seen[0]
    assert seen[0].payload["after"] == start
    assert all(SECRET not in e.data for e in seen)
    assert "channel.cleared" in [e.type for e in seen]


@pytest.mark.e2e
def test_clear_and_delete_on_the_command_line(live_hub: LiveHub) -> None:
    cli = cli_of(live_hub)
    name = f"cli-{uuid.uuid4().hex[:8]}"
    ok_json(cli("channels", "create", name, "--json"))
    ok_json(cli("post", f"#{name}", f"{SECRET} from the command line", "--json"))
    unconfirmed = cli("channels", "clear", name)
    assert unconfirmed.returncode != 0
    assert "--yes" in unconfirmed.stderr
    assert len(ok_json(cli("read", f"#{name}", "--json"))["messages"]) == 1
    cleared = ok_json(cli("channels", "clear", name, "--yes", "--json"))
    assert (cleared["action"], cleared["messages"]) == ("cleared", 1)
    shown = cli("channels", "delete", name, "--yes")
    assert shown.returncode != 0
    assert "archive" in shown.stderr
    ok_json(cli("channels", "archive", name, "--json"))
    deleted = cli("channels", "delete", name, "--yes")
    assert deleted.returncode == 0
    assert f"Deleted #{name}" in deleted.stdout
