"""Presence: requests and heartbeats keep an agent active; silent for the presence TTL it goes
offline (``agent.updated`` and ``member.status`` in each of its channels, none for a ghost);
silent for the prune period it leaves the agent list. Real server with a 1 s TTL."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import anyio
import pytest

from tests.clients import AgentClient, InProcessHub, Json
from tests.live import LiveHub, running_hub
from tests.realtime import LiveAgents, eventually, live_agents, unique
from tests.sse import Event, open_stream

pytestmark = pytest.mark.anyio

TTL = 1.0
PRUNE_AFTER = 3.0
PING = 0.25


@pytest.fixture(scope="module")
def fast_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    """A real hub with a 1 s presence TTL, a 3 s prune period and quick heartbeats."""
    env = {
        "HUBBUB_RATE_LIMIT": "0",
        "HUBBUB_PRESENCE_TTL_SECONDS": str(TTL),
        "HUBBUB_PRUNE_AFTER_SECONDS": str(PRUNE_AFTER),
        "HUBBUB_STREAM_PING_SECONDS": str(PING),
    }
    with running_hub(tmp_path_factory.mktemp("presence"), env=env) as started:
        yield started


@pytest.fixture
async def fast(fast_hub: LiveHub) -> AsyncIterator[LiveAgents]:
    async with live_agents(fast_hub) as agents:
        yield agents


def is_status(event: Event, agent: AgentClient, status: str) -> bool:
    return (
        event.type == "member.status"
        and event.payload["agent"] == agent.name
        and event.payload["status"] == status
    )


async def keep_alive(agent: AgentClient, stop: anyio.Event) -> None:
    """Heartbeat well within the TTL until ``stop``."""
    while not stop.is_set():
        await agent.ok("POST", "/me/heartbeat", {})
        with anyio.move_on_after(TTL / 5):
            await stop.wait()


async def agent_info(watcher: AgentClient, agent: AgentClient) -> Json:
    found: Json = await watcher.ok("GET", f"/agents/{agent.name}")
    return found


async def listed(watcher: AgentClient, **params: str) -> list[str]:
    return [a["name"] for a in await watcher.ok("GET", "/agents", params=params)]


@pytest.mark.e2e
async def test_a_silent_agent_goes_offline_after_the_ttl_and_back_on_its_next_request(
    fast: LiveAgents,
) -> None:
    watcher = await fast.agent("lap-watcher")
    silent = await fast.agent("lap-silent")
    lively = await fast.agent("lap-lively")
    ghost = await fast.agent("lap-ghost")
    channel = unique("tech-presence")
    for agent in (watcher, lively, ghost):
        await agent.say(channel, "here")
    await ghost.patch("/me", {"visibility": "ghost"})
    types = "member.status,agent.updated,message.posted"
    stop = anyio.Event()
    async with (
        open_stream(watcher, types=types) as stream,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(keep_alive, lively, stop)
        await silent.say(channel, "here")  # its last request until it comes back
        silent_since = time.monotonic()
        seen = await stream.until(lambda e: is_status(e, silent, "offline"), within=TTL + 10)
        went_offline = time.monotonic() - silent_since
        offline = await watcher.ok("GET", "/agents", params={"status": "offline"})
        offline_names = {a["name"] for a in offline}
        lively_now = await agent_info(watcher, lively)

        async def ghost_offline() -> bool | None:
            return True if (await agent_info(watcher, ghost))["status"] == "offline" else None

        await eventually(ghost_offline, within=TTL + 10)
        await watcher.say(channel, "sentinel")
        seen += await stream.until(lambda e: e.type == "message.posted" and "sentinel" in e.data)
        me = await silent.ok("GET", "/me")  # its next request brings it back
        back = await stream.until(lambda e: is_status(e, silent, "active"))
        stop.set()

    assert TTL * 0.9 <= went_offline < TTL + 5, went_offline
    assert silent.name in offline_names
    assert lively.name not in offline_names
    assert lively_now["status"] == "active"
    updates = [e for e in seen if e.type == "agent.updated" and e.payload["agent"] == silent.name]
    assert [u.payload["status"] for u in updates] == ["offline"]
    statuses = [e for e in seen if e.type == "member.status"]
    went = [
        (s.payload["channel"], s.payload["status"], s.payload["note"])
        for s in statuses
        if s.payload["agent"] == silent.name
    ]
    assert went == [(channel, "offline", None)]
    assert not [s for s in statuses if s.payload["agent"] in (ghost.name, lively.name)]
    came = back[-1].payload
    assert (came["channel"], came["status"], came["note"]) == (channel, "active", None)
    assert (await agent_info(watcher, silent))["status"] == "active"
    assert (await silent.ok("GET", "/me"))["status"] == "active"
    # The request that brought it back must not answer with the stale status either.
    assert me["status"] == "active", me


async def announcements(
    worker: AgentClient, watcher: AgentClient, beats: list[Json]
) -> tuple[list[Json], list[Event]]:
    """Send ``beats`` as ``worker``'s heartbeats; return the answers and every
    ``agent.updated`` and ``member.status`` event about ``worker`` they caused, as seen by
    ``watcher`` (a member of the same channels)."""
    async with open_stream(watcher, types="member.status,agent.updated") as stream:
        answers = [await worker.ok("POST", "/me/heartbeat", beat) for beat in beats]
        await worker.patch("/me", {"label": "sentinel"})
        seen = await stream.until(lambda e: e.payload.get("label") == "sentinel")
    return answers, [e for e in seen[:-1] if e.payload["agent"] == worker.name]


async def co_members(agents: LiveAgents, count: int) -> tuple[AgentClient, AgentClient, list[str]]:
    """A worker and a watcher who share ``count`` new channels."""
    worker = await agents.agent("lap-worker")
    watcher = await agents.agent("lap-watcher")
    channels = [unique("tech-beat") for _ in range(count)]
    for channel in channels:
        await worker.say(channel, "here")
        await watcher.ok("POST", f"/channels/{channel}/join")
    return worker, watcher, channels


@pytest.mark.e2e
async def test_no_agent_goes_offline_before_it_has_been_silent_for_the_ttl(
    fast: LiveAgents,
) -> None:
    """Each agent's last request comes shortly after a first one (inside any write throttle);
    the three are staggered across the sweep interval, so whatever the sweep's phase, one of
    them would go offline early if the hub counted silence from the first request."""
    watcher = await fast.agent("lap-watcher")
    stagger, pause = TTL / 12, TTL * 0.22
    last_request: dict[str, float] = {}

    async def go_quiet(index: int) -> None:
        await anyio.sleep(stagger * index)  # spreads the agents over the sweep's phase
        agent = await fast.agent("lap-quiet")
        await anyio.sleep(pause)  # within a quarter TTL of its first request
        await agent.ok("GET", "/me")
        last_request[agent.name] = time.monotonic()

    went: dict[str, float] = {}
    async with open_stream(watcher, types="agent.updated") as stream:
        async with anyio.create_task_group() as tg:
            for index in range(3):
                tg.start_soon(go_quiet, index)

        def offline(event: Event) -> bool:
            name = event.payload["agent"]
            if name in last_request and event.payload["status"] == "offline":
                went[name] = time.monotonic() - last_request[name]
            return len(went) == len(last_request)

        await stream.until(offline, within=TTL + 10)
    assert min(went.values()) >= TTL - 0.05, went


@pytest.mark.e2e
async def test_a_heartbeat_with_a_status_tells_every_channel_of_the_agent(
    realtime: LiveAgents,
) -> None:
    worker, watcher, channels = await co_members(realtime, 2)
    beats: list[Json] = [{"status": "busy", "note": "compiling"}, {}, {"note": ""}]
    (busy, plain, cleared), mine = await announcements(worker, watcher, beats)
    assert (busy["status"], busy["status_note"]) == ("busy", "compiling")
    assert (plain["status"], plain["status_note"]) == ("busy", "compiling")
    assert (cleared["status"], cleared["status_note"]) == ("busy", None)
    assert len(mine) == 6, mine  # the plain heartbeat changed nothing: no events
    for events, note in ((mine[:3], "compiling"), (mine[3:], None)):
        assert events[0].type == "agent.updated"
        assert (events[0].payload["status"], events[0].payload["status_note"]) == ("busy", note)
        assert sorted(
            (e.type, e.payload["channel"], e.payload["status"], e.payload["note"])
            for e in events[1:]
        ) == [("member.status", channel, "busy", note) for channel in sorted(channels)]


@pytest.mark.e2e
async def test_a_heartbeat_repeating_the_same_status_announces_nothing(
    realtime: LiveAgents,
) -> None:
    worker, watcher, _ = await co_members(realtime, 1)
    beat: Json = {"status": "busy", "note": "compiling"}
    _, mine = await announcements(worker, watcher, [beat, beat, beat])
    assert [e.type for e in mine] == ["agent.updated", "member.status"], [e.data for e in mine]


@pytest.mark.e2e
async def test_an_agent_silent_past_the_prune_period_leaves_the_list_until_it_returns(
    fast: LiveAgents,
) -> None:
    watcher = await fast.agent("lap-watcher")
    quiet = await fast.agent("lap-quiet")
    assert quiet.name in await listed(watcher, machine="lap")
    since = time.monotonic()

    async def pruned() -> bool | None:
        return True if quiet.name not in await listed(watcher, machine="lap") else None

    await eventually(pruned, within=PRUNE_AFTER + 10, interval=0.1)
    assert time.monotonic() - since >= PRUNE_AFTER * 0.9
    assert (await agent_info(watcher, quiet))["name"] == quiet.name  # still there by name
    await quiet.ok("GET", "/me")
    assert quiet.name in await listed(watcher, machine="lap")


@pytest.mark.e2e
async def test_an_idle_stream_carries_heartbeat_comments(fast: LiveAgents) -> None:
    reader = await fast.agent("lap-reader")
    channel = unique("tech-idle")
    await reader.say(channel, "here")
    async with open_stream(reader, types="message", channels=channel) as stream:
        started = time.monotonic()
        comments = [await stream.comment(within=5), await stream.comment(within=5)]
        elapsed = time.monotonic() - started
    assert all(comment.startswith("ping") for comment in comments), comments
    assert elapsed < PING * 2 + 2


async def test_joining_a_channel_answers_with_its_members(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    await alpha.create_channel("lobby")
    joined = await beta.ok("POST", "/channels/lobby/join")
    assert (joined["name"], joined["members"]) == ("lobby", ["lap-alpha", "lap-beta"])
    again = await beta.ok("POST", "/channels/lobby/join")
    assert again["members"] == ["lap-alpha", "lap-beta"]
    assert hub.snapshot()["members"] == 2
