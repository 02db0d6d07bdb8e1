"""Identity and routing rules: labels with spaces, mentions in any case, who may DM a ghost,
reads bounded by time, and the cursor a poller starts from. Each runs on both engines."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from hubbub.core.errors import Forbidden, InvalidInput
from hubbub.core.mentions import parse_mentions
from tests.agent_tools import sdk
from tests.clients import AgentClient, InProcessHub, problem
from tests.live import LiveHub, cli_of, ok_json

pytestmark = pytest.mark.anyio


# labels


async def test_a_label_with_spaces_routes_a_send(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient, gamma: AgentClient
) -> None:
    me = await alpha.ok("PATCH", "/me", {"label": "test writer"})
    assert me["label"] == "test writer"
    await gamma.ok("PATCH", "/me", {"label": "test"})  # a label that is only a prefix
    sent = await beta.send("label:test writer", "please write the tests")
    assert (sent["target"], sent["recipients"]) == ("label:test writer", ["lap-alpha"])
    items = (await alpha.inbox())["items"]
    assert [(i["kind"], i["message"]["content"]) for i in items] == [
        ("send", "please write the tests")
    ]
    async with sdk(hub, "lap-beta") as client:
        again = await client.send("  label:test writer ", "and the docs")
    assert again.recipients == ["lap-alpha"]


@pytest.mark.parametrize("label", ["Test Writer", " test", "test ", "tést", "a" * 65, "x\ty"])
async def test_a_bad_label_is_refused_by_name_and_nothing_changes(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient, label: str
) -> None:
    await alpha.ok("PATCH", "/me", {"label": "kept"})
    before = hub.snapshot()
    problem(await alpha.patch("/me", {"label": label}), 422)
    assert (await alpha.ok("GET", "/me"))["label"] == "kept"
    if label != "test ":  # around a target, blanks are dropped: "label:test " is fine
        sender = await hub.hub.agents.get("lap-beta")
        with pytest.raises(InvalidInput, match="bad label") as raised:
            await hub.hub.messages.send(sender, f"label:{label}", "x")
        assert raised.value.code == "bad_name"
        assert repr(label.rstrip()) in raised.value.detail
    found = problem(await beta.post("/send", {"target": "label:Bad Label", "content": "x"}), 422)
    assert found["code"] in ("bad_name", "invalid")
    assert hub.snapshot() == before


async def test_a_label_that_matches_no_agent_is_named_in_the_error(beta: AgentClient) -> None:
    found = problem(await beta.post("/send", {"target": "label:no one", "content": "x"}), 404)
    assert found["code"] == "unknown_target"
    assert "label:no one" in found["detail"]


# mentions


def test_mentions_are_read_in_any_case_and_stored_lowercase() -> None:
    assert parse_mentions("ping @VM-Web and @vm-web, cc @Lap-Alpha") == ["vm-web", "lap-alpha"]
    # Case folding lets nothing else in: no look-alike letters, no e-mail addresses.
    assert parse_mentions("@\u212aelvin-x a@VM-Web.com `@VM-Web`") == []


async def test_a_mention_in_another_case_reaches_the_agent(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    posted = await beta.say("general", "@LAP-Alpha, have a look (and @Nobody-Here)")
    assert posted["mentions"] == ["lap-alpha"]
    items = (await alpha.inbox())["items"]
    assert [(i["kind"], i["message"]["id"]) for i in items] == [("mention", posted["id"])]
    async with sdk(hub, "lap-beta") as client:
        edited = await client.post("general", "again, @Lap-ALPHA")
    assert edited.mentions == ["lap-alpha"]


# ghosts


async def test_a_ghost_takes_dms_only_where_a_dm_exists(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient, gamma: AgentClient
) -> None:
    await alpha.ok("PATCH", "/me", {"visibility": "ghost"})
    before = hub.snapshot()
    refused = problem(await beta.post("/send", {"target": "@lap-alpha", "content": "hi"}), 403)
    assert refused["code"] == "dm_refused"
    assert "@lap-alpha" in refused["detail"]
    async with sdk(hub, "lap-beta") as client:
        with pytest.raises(Forbidden) as raised:
            await client.send("@lap-alpha", "hi")
        assert raised.value.code == "dm_refused"
        with pytest.raises(Forbidden):
            await client.upload("@lap-alpha", io.BytesIO(b"notes"), name="notes.txt")
    assert hub.snapshot() == before
    # The ghost starts a DM; in it, the other side may answer.
    await alpha.send("@lap-beta", "it's me")
    answer = await beta.send("@lap-alpha", "hello ghost")
    assert answer["recipients"] == ["lap-alpha"]
    assert [i["message"]["content"] for i in (await alpha.inbox())["items"]] == ["hello ghost"]
    # A third agent still cannot; a mention in a channel still reaches the ghost.
    problem(await gamma.post("/send", {"target": "@lap-alpha", "content": "hi"}), 403)
    await gamma.say("general", "@lap-alpha are you there?")
    kinds = [i["kind"] for i in (await alpha.inbox())["items"]]
    assert kinds == ["dm", "mention"]


async def test_a_task_for_a_ghost_is_a_dm_too(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    await alpha.ok("PATCH", "/me", {"visibility": "ghost"})
    before = hub.snapshot()
    body = {"title": "Review", "target": "@lap-alpha"}
    problem(await beta.post("/tasks", body), 403, "dm_refused")
    assert hub.snapshot() == before
    await alpha.send("@lap-beta", "send me work")
    task = await beta.ok("POST", "/tasks", body)
    assert task["target"] == "@lap-alpha"


async def test_a_dm_begun_before_an_agent_became_a_ghost_stays_open(
    alpha: AgentClient, beta: AgentClient
) -> None:
    await beta.send("@lap-alpha", "before")
    await alpha.ok("PATCH", "/me", {"visibility": "ghost"})
    after = await beta.send("@lap-alpha", "after")
    assert after["recipients"] == ["lap-alpha"]


# since / until


async def _three(agent: AgentClient, channel: str = "general") -> list[dict[str, object]]:
    return [await agent.say(channel, text) for text in ("one", "two", "three")]


def _at(message: dict[str, object]) -> datetime:
    return datetime.fromisoformat(str(message["created_at"]).replace("Z", "+00:00"))


async def test_reads_take_a_time_window(hub: InProcessHub, alpha: AgentClient) -> None:
    posted = await _three(alpha)
    second = posted[1]
    since, until = str(second["created_at"]), str(posted[2]["created_at"])
    ids = [m["id"] for m in posted]
    at = {m["id"]: _at(m) for m in posted}

    forward = await alpha.ok("GET", "/channels/general/messages", params={"since": since})
    assert [m["id"] for m in forward["messages"]] == [i for i in ids if at[i] >= _at(second)]
    assert not forward["has_more"]

    page = await alpha.ok(
        "GET", "/channels/general/messages", params={"since": posted[0]["created_at"], "limit": 2}
    )
    assert [m["id"] for m in page["messages"]] == ids[:2]
    assert (page["has_more"], page["cursor"]) == (True, ids[1])

    older = await alpha.ok("GET", "/channels/general/messages", params={"until": since})
    assert [m["id"] for m in older["messages"]] == [i for i in ids if at[i] <= _at(second)]
    both = await alpha.ok(
        "GET", "/channels/general/messages", params={"since": since, "until": until}
    )
    assert [m["id"] for m in both["messages"]] == [i for i in ids if at[i] >= _at(second)]
    after = await alpha.ok(
        "GET", "/channels/general/messages", params={"after": ids[0], "until": since}
    )
    assert [m["id"] for m in after["messages"]] == [ids[1]]
    # Any offset names the same instant.
    east = _at(posted[2]).astimezone(timezone(timedelta(hours=5, minutes=30)))
    same = await alpha.ok("GET", "/channels/general/messages", params={"since": east.isoformat()})
    assert [m["id"] for m in same["messages"]] == [i for i in ids if at[i] >= _at(posted[2])]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    none = await alpha.ok("GET", "/channels/general/messages", params={"since": future})
    assert (none["messages"], none["has_more"]) == ([], False)

    async with sdk(hub, "lap-alpha") as client:
        read = await client.read("general", since=_at(second))
        assert [m.id for m in read.messages] == [i for i in ids if at[i] >= _at(second)]
        read = await client.read("general", until=_at(posted[0]))
        assert [m.id for m in read.messages] == [ids[0]]
        with pytest.raises(InvalidInput) as raised:
            await client.read("general", since=datetime(2026, 1, 1))
        assert raised.value.code == "bad_time"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "bad_range"),
        ({"since": "2026-01-01T00:00:00"}, "invalid"),
        ({"until": "yesterday"}, "invalid"),
        ({"since": "2026-01-01"}, "invalid"),
        ({"after": "2026-01-01T00:00:00Z"}, "invalid"),
    ],
)
async def test_a_bad_time_window_is_refused(
    alpha: AgentClient, params: dict[str, str], code: str
) -> None:
    await alpha.say("general", "hello")
    problem(await alpha.get("/channels/general/messages", params=params), 422, code)


@pytest.mark.e2e
def test_the_cli_reads_a_time_window(live_hub: LiveHub) -> None:
    cli = cli_of(live_hub)
    channel = f"project-window-{uuid.uuid4().hex[:8]}"
    posted = [ok_json(cli("post", channel, text, "--json")) for text in ("one", "two", "three")]
    out = ok_json(cli("read", channel, "--since", str(posted[1]["created_at"]), "--json"))
    assert [m["id"] for m in out["messages"]] == [
        m["id"] for m in posted if _at(m) >= _at(posted[1])
    ]
    out = ok_json(cli("read", channel, "--until", str(posted[0]["created_at"]), "--json"))
    assert [m["id"] for m in out["messages"]] == [posted[0]["id"]]
    bad = cli("read", channel, "--since", "someday")
    assert bad.returncode == 2
    assert "someday" in bad.stderr


# the cursor


async def test_the_cursor_is_the_newest_event_and_message_the_caller_may_see(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient, gamma: AgentClient
) -> None:
    empty = await gamma.ok("GET", "/cursor")
    assert empty["message"] == 0
    posted = await alpha.say("general", "public")
    mine = await alpha.ok("GET", "/cursor")
    assert mine["message"] == posted["id"]
    assert mine["event"] >= empty["event"]
    # What the caller may not see moves neither cursor.
    await beta.create_channel("backroom", "secret")
    hidden = await beta.say("backroom", "secret plans")
    dm = (await beta.send("@srv-gamma", "just us"))["messages"][0]
    assert await alpha.ok("GET", "/cursor") == mine
    theirs = await beta.ok("GET", "/cursor")
    assert theirs["message"] == max(hidden["id"], dm["id"])
    assert theirs["event"] > mine["event"]
    gammas = await gamma.ok("GET", "/cursor")
    assert gammas["message"] == dm["id"]
    # From the cursor, a poller reads what comes next and nothing before.
    async with sdk(hub, "lap-alpha") as client:
        cursor = await client.cursor()
        assert (cursor.event, cursor.message) == (mine["event"], mine["message"])
        nxt = await beta.say("general", "next")
        page = await client.read("general", after=cursor.message)
        assert [m.id for m in page.messages] == [nxt["id"]]
        assert (await client.cursor()).message == nxt["id"]


async def test_the_event_cursor_is_the_newest_event_of_the_callers_stream(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    await alpha.say("general", "mine")
    newest = await hub.hub.store.last_event_seq()
    assert (await alpha.ok("GET", "/cursor"))["event"] == newest
    await beta.create_channel("vault", "secret")
    await beta.say("vault", "not for alpha")
    assert await hub.hub.store.last_event_seq() > newest
    assert (await alpha.ok("GET", "/cursor"))["event"] == newest
    assert (await beta.ok("GET", "/cursor"))["event"] == await hub.hub.store.last_event_seq()
    # Every event after the cursor that alpha's stream admits is newer than anything before.
    scope = await hub.hub.feed.scope(await hub.hub.agents.get("lap-alpha"))
    later = [e for e in await hub.hub.store.events_after(newest, 100) if scope.admits(e)]
    assert later == []
