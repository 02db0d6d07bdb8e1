"""Seen by: which members have read past a message, from their read cursors alone; and the
``message.read`` event an author gets when a reader's cursor passes its messages in a small
channel (one per author and cursor move, for the newest message passed). Through REST and the
SDK on both engines, the event stream, the MCP tool and the CLI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from hubbub.core.errors import NotFound
from hubbub.core.events import StoredEvent
from hubbub.core.models import Seen
from tests.agent_tools import acting, sdk
from tests.clients import AgentClient, HubFactory, InProcessHub, problem
from tests.live import Cli, LiveHub, cli_of, ok_json
from tests.realtime import LiveAgents, unique
from tests.sse import open_stream
from tests.twins import KINDS, Clients

pytestmark = pytest.mark.anyio


async def team(
    hub: InProcessHub, *names: str, visibility: str = "private"
) -> tuple[str, list[AgentClient]]:
    """A channel of ``visibility`` whose members are the agents ``names`` (the first made it)."""
    agents = [await hub.agent(name) for name in names]
    channel = unique("tech-team")
    await agents[0].create_channel(channel, visibility)
    for other in agents[1:]:
        await agents[0].ok("POST", f"/channels/{channel}/invite", {"agent": other.name})
    return channel, agents


async def read_to(agent: AgentClient, channel: str, seq: int) -> Any:
    return await agent.ok("PUT", f"/channels/{channel}/cursor", {"seq": seq})


async def read_events(hub: InProcessHub, after: int) -> list[StoredEvent]:
    """The ``message.read`` events committed after ``after``."""
    log = await hub.hub.store.events_after(after, 10_000)
    return [e for e in log if e.type == "message.read"]


async def agent_id(hub: InProcessHub, name: str) -> int:
    found = await hub.hub.store.agent(name)
    assert found is not None
    return found.id


async def test_seen_by_follows_the_read_cursors(hub: InProcessHub) -> None:
    channel, (alpha, beta, gamma) = await team(hub, "lap-alpha", "lap-beta", "srv-gamma")
    first = await alpha.say(channel, "first")
    second = await alpha.say(channel, "second")
    assert await alpha.ok("GET", f"/messages/{first['id']}/seen") == {
        "message_id": first["id"],
        "channel": channel,
        "seen_by": [],
        "not_yet": [beta.name, gamma.name],
    }
    await read_to(beta, channel, first["id"])
    seen = await gamma.ok("GET", f"/messages/{first['id']}/seen")
    assert (seen["seen_by"], seen["not_yet"]) == ([beta.name], [gamma.name])
    later = await alpha.ok("GET", f"/messages/{second['id']}/seen")
    assert (later["seen_by"], later["not_yet"]) == ([], [beta.name, gamma.name])
    # A reply moves its author's cursor past everything before it.
    await gamma.say(channel, "on it")
    seen = await beta.ok("GET", f"/messages/{second['id']}/seen")
    assert (seen["seen_by"], seen["not_yet"]) == ([gamma.name], [beta.name])


async def test_only_a_reader_may_ask_and_a_refusal_writes_nothing(hub: InProcessHub) -> None:
    channel, (alpha, _) = await team(hub, "lap-alpha", "lap-beta")
    outsider = await hub.agent("srv-outsider")
    message = await alpha.say(channel, "members only")
    before = hub.snapshot()
    problem(await outsider.get(f"/messages/{message['id']}/seen"), 404, "message_not_found")
    problem(await alpha.get("/messages/999999999/seen"), 404, "message_not_found")
    problem(await alpha.get("/messages/0/seen"), 422)
    problem(await alpha.get("/messages/x/seen"), 422)
    assert hub.snapshot() == before
    # In a public channel every agent may read, so may ask.
    public = unique("tech-open")
    posted = await alpha.say(public, "for all")
    assert (await outsider.ok("GET", f"/messages/{posted['id']}/seen"))["seen_by"] == []


async def test_a_cursor_move_tells_each_author_once_of_the_newest_passed(
    hub: InProcessHub,
) -> None:
    channel, (alpha, beta, gamma) = await team(hub, "lap-alpha", "lap-beta", "srv-gamma")
    a1 = await alpha.say(channel, "a1")
    g1 = await gamma.say(channel, "g1")
    a2 = await alpha.say(channel, "a2")
    mine = await beta.say(channel, "b1")  # a post moves the cursor without telling anyone
    start = await hub.hub.store.last_event_seq()
    await read_to(beta, channel, a1["id"] - 1)  # behind the cursor: no move
    assert await read_events(hub, start) == []
    # gamma reads everything: alpha hears of a2 (its newest passed), beta of b1; nothing of a1.
    await read_to(gamma, channel, mine["id"])
    told = await read_events(hub, start)
    ids = {await agent_id(hub, n): n for n in (alpha.name, beta.name, gamma.name)}
    assert sorted((ids[e.agent_id or 0], e.payload["message_id"]) for e in told) == sorted(
        [(alpha.name, a2["id"]), (beta.name, mine["id"])]
    )
    assert all((e.payload["channel"], e.payload["by"]) == (channel, gamma.name) for e in told)
    # The same move again, or one past nothing new, tells nobody.
    after = await hub.hub.store.last_event_seq()
    await read_to(gamma, channel, mine["id"])
    await read_to(gamma, channel, mine["id"] + 1000)
    assert await read_events(hub, after) == []
    assert a1["id"] < g1["id"] < a2["id"]  # gamma's cursor started past a1, at its own post


async def test_read_events_reach_the_author_alone(hub: InProcessHub) -> None:
    channel, (alpha, beta, gamma) = await team(hub, "lap-alpha", "lap-beta", "srv-gamma")
    posted = await alpha.say(channel, "news")
    start = await hub.hub.store.last_event_seq()
    await read_to(beta, channel, posted["id"])
    [event] = await read_events(hub, start)
    for agent, admitted in ((alpha, True), (beta, False), (gamma, False)):
        me = await hub.hub.store.agent(agent.name)
        assert me is not None
        scope = await hub.hub.feed.scope(me)
        assert scope.admits(event) is admitted, agent.name


async def test_larger_channels_and_a_zero_setting_send_no_read_events(
    hub_factory: HubFactory,
) -> None:
    for limit, members in ((2, 3), (0, 2)):
        async with hub_factory(read_events_max_members=limit) as hub:
            names = ["lap-alpha", "lap-beta", "srv-gamma"][:members]
            channel, agents = await team(hub, *names)
            posted = await agents[0].say(channel, "hello")
            start = await hub.hub.store.last_event_seq()
            await read_to(agents[1], channel, posted["id"])
            assert await read_events(hub, start) == []
            seen = await agents[0].ok("GET", f"/messages/{posted['id']}/seen")
            assert seen["seen_by"] == [agents[1].name]


async def test_the_sdk_and_the_tool_say_who_has_seen(hub: InProcessHub) -> None:
    channel, (alpha, beta) = await team(hub, "lap-alpha", "lap-beta")
    posted = await alpha.say(channel, "look")
    async with sdk(hub, "lap-beta") as client:
        await client.mark_read(channel, posted["id"])
        seen = await client.seen(posted["id"])
        assert seen == Seen(
            message_id=posted["id"], channel=channel, seen_by=[beta.name], not_yet=[]
        )
        with pytest.raises(NotFound) as missing:
            await client.seen(999999999)
        assert missing.value.code == "message_not_found"
    async with acting(hub, "lap-alpha") as tool:
        out = await tool.ok("hubbub_seen", message_id=posted["id"])
        assert (out["seen_by"], out["not_yet"]) == ([beta.name], [])
        refused = await tool("hubbub_seen", message_id=999999999)
        assert refused.is_error


@pytest.mark.e2e
async def test_the_author_stream_gets_message_read(realtime: LiveAgents) -> None:
    author = await realtime.agent("lap-author")
    reader = await realtime.agent("lap-reader")
    channel = unique("tech-receipt")
    await author.create_channel(channel, "private")
    await author.ok("POST", f"/channels/{channel}/invite", {"agent": reader.name})
    posted = await author.say(channel, "please read")
    async with open_stream(author, types="message.read") as stream:
        await reader.ok("PUT", f"/channels/{channel}/cursor", {"seq": posted["id"]})
        event = await stream.expect()
    assert event.type == "message.read"
    assert event.payload == {"channel": channel, "by": reader.name, "message_id": posted["id"]}


@pytest.fixture(scope="module")
def cli(live_hub: LiveHub) -> Cli:
    return cli_of(live_hub)


@pytest.mark.e2e
def test_the_cli_shows_who_has_seen(cli: Cli, live_hub: LiveHub) -> None:
    key = live_hub.config()["key"]
    peer = unique("lap-peer")
    channel = unique("tech-seen")
    posted = ok_json(cli("post", channel, "read me", "--json"))
    response = live_hub.request("POST", f"/api/v1/channels/{channel}/join", key=key, agent=peer)
    assert response.is_success, response.text
    cursor = {"seq": posted["id"]}
    path = f"/api/v1/channels/{channel}/cursor"
    response = live_hub.request("PUT", path, key=key, agent=peer, json=cursor)
    assert response.is_success, response.text
    seen = ok_json(cli("seen", str(posted["id"]), "--json"))
    assert (seen["message_id"], seen["seen_by"]) == (posted["id"], [peer])
    shown = cli("seen", str(posted["id"]))
    assert shown.returncode == 0, shown.stderr
    assert "seen by" in shown.stdout
    assert peer in shown.stdout
    missing = cli("seen", "999999999")
    assert missing.returncode != 0


@pytest.fixture(params=KINDS)
async def clients(request: pytest.FixtureRequest) -> AsyncIterator[Clients]:
    """SDK clients of one kind, sync or async, closed after the test."""
    made = Clients(request.param)
    try:
        yield made
    finally:
        await made.aclose()


@pytest.mark.e2e
async def test_both_clients_mark_read_and_ask_who_has_seen(
    clients: Clients, realtime_hub: LiveHub
) -> None:
    key = realtime_hub.config()["key"]
    author = clients.open(realtime_hub.url, key, unique("lap-author"))
    reader = clients.open(realtime_hub.url, key, unique("lap-reader"))
    channel = unique("tech-twins")
    posted = await author.post(channel, "anyone?", kind="question")
    await reader.join(channel)
    assert (await author.seen(posted.id)).not_yet == [reader.settings.agent]
    await reader.mark_read(channel, posted.id)
    seen = await author.seen(posted.id)
    assert (seen.seen_by, seen.not_yet) == ([reader.settings.agent], [])
    member = await reader.set_channel_status(channel, "answering")
    assert member.channel_status == "answering"
    page = await reader.read(channel, kind="question")
    assert [(m.id, m.kind) for m in page.messages] == [(posted.id, "question")]
