"""Bounded waits: ``GET /channels/{name}/messages?after=N&wait=S`` and ``GET /inbox?after=N&wait=S``
answer as soon as something exists after the cursor, else empty at the deadline."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio
import pytest

from hubbub.bus import LocalBus
from tests.clients import AgentClient, HubFactory, InProcessHub, Json, problem
from tests.realtime import LiveAgents, eventually, unique

pytestmark = pytest.mark.anyio


class Timed:
    """The answer of a request made in the background, and how long it took."""

    answer: Json
    elapsed: float

    async def run(self, request: Callable[[], Awaitable[Json]]) -> None:
        started = time.monotonic()
        self.answer = await request()
        self.elapsed = time.monotonic() - started


async def waiting(hub: InProcessHub, count: int) -> None:
    """Return once ``count`` subscriptions (waits) are open on the hub's bus."""
    bus = hub.hub.bus
    assert isinstance(bus, LocalBus)

    async def ready() -> bool | None:
        return True if bus.subscribers >= count else None

    await eventually(ready, within=5, interval=0.005)


async def newest(agent: AgentClient, channel: str) -> int:
    page = await agent.ok("GET", f"/channels/{channel}/messages", params={"limit": 1})
    cursor: int = page["cursor"]
    return cursor


async def test_a_channel_wait_returns_as_soon_as_a_message_is_posted(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    await alpha.say("general", "earlier")
    after = await newest(beta, "general")
    timed = Timed()
    params = {"after": after, "wait": 10}
    async with anyio.create_task_group() as tg:
        tg.start_soon(
            timed.run, lambda: beta.ok("GET", "/channels/general/messages", params=params)
        )
        await waiting(hub, 1)
        posted = await alpha.say("general", "now")
    assert timed.elapsed < 2
    assert timed.answer["messages"] == [posted]
    assert timed.answer["cursor"] == posted["id"]


async def test_an_inbox_wait_returns_as_soon_as_an_item_arrives(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    after = (await beta.inbox())["cursor"]
    timed = Timed()
    async with anyio.create_task_group() as tg:
        tg.start_soon(timed.run, lambda: beta.inbox(after=after, wait=10))
        await waiting(hub, 1)
        sent = await alpha.send("@lap-beta", "ping")
    assert timed.elapsed < 2
    [item] = timed.answer["items"]
    assert item["message"] == sent["messages"][0]
    assert item["delivered_at"] is not None
    assert timed.answer["cursor"] == item["id"]


async def test_waits_end_empty_at_the_deadline_whatever_else_happens(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient, gamma: AgentClient
) -> None:
    await alpha.say("general", "earlier")
    await alpha.say("tech-elsewhere", "elsewhere")
    after = await newest(beta, "general")
    inbox_after = (await beta.inbox())["cursor"]
    read, peek = Timed(), Timed()
    params = {"after": after, "wait": 1}
    async with anyio.create_task_group() as tg:
        tg.start_soon(read.run, lambda: beta.ok("GET", "/channels/general/messages", params=params))
        tg.start_soon(peek.run, lambda: beta.inbox(after=inbox_after, wait=1))
        await waiting(hub, 2)
        # Events, but none for these waits: a post in another channel, a DM to someone else.
        await alpha.say("tech-elsewhere", "not for general")
        await alpha.send(f"@{gamma.name}", "not for beta")
    for timed in (read, peek):
        assert 1 <= timed.elapsed < 3, timed.elapsed
    assert (read.answer["messages"], read.answer["cursor"]) == ([], after)
    assert (peek.answer["items"], peek.answer["cursor"]) == ([], inbox_after)


async def test_a_wait_answers_at_once_when_something_is_already_there(
    alpha: AgentClient, beta: AgentClient
) -> None:
    await alpha.say("general", "earlier")
    after = await newest(beta, "general")
    first = await alpha.say("general", f"@{beta.name} already here")
    started = time.monotonic()
    page = await beta.ok("GET", "/channels/general/messages", params={"after": after, "wait": 10})
    inbox = await beta.inbox(wait=10)
    assert time.monotonic() - started < 2
    assert page["messages"] == [first]
    assert [item["message"]["id"] for item in inbox["items"]] == [first["id"]]


async def test_waits_are_bounded_by_the_max_wait_setting(
    hub_factory: HubFactory,
) -> None:
    async with hub_factory(max_wait_seconds=2) as hub:
        agent = await hub.agent("lap-alpha")
        other = await hub.agent("lap-beta")
        await other.say("general", f"@{agent.name} hi")  # so neither wait below has to wait
        for path, params in (
            ("/channels/general/messages", {"after": 0}),
            ("/inbox", {}),
        ):
            problem(await agent.get(path, params={**params, "wait": 3}), 422, "bad_wait")
            problem(await agent.get(path, params={**params, "wait": -1}), 422, "invalid")
            ok = await agent.get(path, params={**params, "wait": 2})
            assert ok.status_code == 200, ok.text


async def test_the_default_max_wait_is_50_seconds(alpha: AgentClient) -> None:
    await alpha.say("general", "hi")
    for path, params in (
        ("/channels/general/messages", {"after": 0}),
        ("/inbox", {}),
    ):
        body = problem(await alpha.get(path, params={**params, "wait": 50.5}), 422, "bad_wait")
        assert "50" in body["detail"]


@pytest.mark.e2e
async def test_a_wait_over_a_real_socket_returns_early_on_a_post(realtime: LiveAgents) -> None:
    author = await realtime.agent("lap-author")
    reader = await realtime.agent("lap-reader")
    channel = unique("tech-wait")
    first = await author.say(channel, "first")
    timed = Timed()
    params = {"after": first["id"], "wait": 10}
    async with anyio.create_task_group() as tg:
        tg.start_soon(
            timed.run, lambda: reader.ok("GET", f"/channels/{channel}/messages", params=params)
        )
        posted = await author.say(channel, "second")
    assert timed.elapsed < 2
    assert timed.answer["messages"] == [posted]
