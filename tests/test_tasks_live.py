"""Tasks on a real ``hubbub serve``: claims raced by 50 agents at once have exactly one winner,
a lease that runs out reopens its task and fences its old holder out, and concurrent creates
with one dedupe key make one task."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.clients import API, AgentClient, Json
from tests.live import LiveHub, running_hub
from tests.realtime import LiveAgents, eventually, unique
from tests.sse import open_stream

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

CLAIMERS = 50
ROUNDS = 200


@pytest.fixture(scope="module")
def task_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    """A real hub without rate limits, so every racer's request reaches the claim."""
    home = tmp_path_factory.mktemp("tasks-live")
    with running_hub(home, env={"HUBBUB_RATE_LIMIT": "0"}) as hub:
        yield hub


@pytest.fixture
async def agents(task_hub: LiveHub) -> AsyncIterator[LiveAgents]:
    limits = httpx.Limits(max_connections=2 * CLAIMERS, max_keepalive_connections=2 * CLAIMERS)
    async with httpx.AsyncClient(base_url=task_hub.url, timeout=30, limits=limits) as http:
        yield LiveAgents(task_hub, http)


class Raw:
    """One keep-alive HTTP/1.1 connection acting as one agent. The races send thousands of
    requests, and a minimal client keeps the test's own CPU out of the way of the hub's."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, hub: LiveHub) -> Raw:
        host, port = hub.url.removeprefix("http://").split(":")
        return cls(*await asyncio.open_connection(host, int(port)))

    async def post(self, agent: AgentClient, path: str, body: bytes = b"{}") -> tuple[int, Json]:
        """POST ``body`` to ``path`` as ``agent``: the status and the decoded answer."""
        head = (
            f"POST {API}{path} HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer {agent.key}\r\n"
            f"X-Hubbub-Agent: {agent.name}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line, _, headers = (await self.reader.readuntil(b"\r\n\r\n")).partition(b"\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in headers.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        return int(status_line.split()[1]), json.loads(await self.reader.readexactly(length))

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


@pytest.fixture
async def lines(task_hub: LiveHub) -> AsyncIterator[list[Raw]]:
    """One raw connection per claimer."""
    opened = [await Raw.open(task_hub) for _ in range(CLAIMERS)]
    try:
        yield opened
    finally:
        for line in opened:
            await line.close()


async def racers(agents: LiveAgents, capability: str) -> list[AgentClient]:
    """``CLAIMERS`` new agents, each with ``capability``."""

    async def one(i: int) -> AgentClient:
        racer = await agents.agent(f"lap-racer{i:02d}")
        await racer.ok("PATCH", "/me", {"capabilities": [capability]})
        return racer

    return list(await asyncio.gather(*(one(i) for i in range(CLAIMERS))))


async def create_many(creator: AgentClient, target: str, count: int) -> list[Json]:
    """``count`` tasks, created 50 at a time (without offers: the race is the point here)."""
    made: list[Json] = []
    for start in range(0, count, 50):
        batch = [
            creator.ok("POST", "/tasks", {"title": f"t{i}", "target": target, "offer": False})
            for i in range(start, min(count, start + 50))
        ]
        made += await asyncio.gather(*batch)
    return made


async def test_fifty_claimers_have_exactly_one_winner_every_time(
    agents: LiveAgents, lines: list[Raw]
) -> None:
    capability = unique("race").replace("-", "")
    creator = await agents.agent("lap-boss")
    field = await racers(agents, capability)
    tasks = await create_many(creator, f"cap:{capability}", ROUNDS)
    for task in tasks:
        path = f"/tasks/{task['id']}/claim"
        answers = await asyncio.gather(
            *(line.post(racer, path) for line, racer in zip(lines, field, strict=True))
        )
        statuses = Counter(status for status, _ in answers)
        assert statuses == {200: 1, 409: CLAIMERS - 1}, (task["id"], statuses)
        assert {body["code"] for status, body in answers if status == 409} == {"not_open"}
        [won] = [body for status, body in answers if status == 200]
        assert (won["fence"], won["status"]) == (1, "claimed")
    # Each task kept its one winner, and recorded one claim.
    page = await creator.ok("GET", "/tasks", params={"target": f"cap:{capability}", "limit": 500})
    assert [(t["status"], t["fence"]) for t in page["tasks"]] == [("claimed", 1)] * ROUNDS
    history = await creator.ok("GET", f"/tasks/{tasks[-1]['id']}/events")
    assert [e["type"] for e in history] == ["task.created", "task.claimed"]


async def test_claim_next_hands_each_task_to_one_worker(
    agents: LiveAgents, lines: list[Raw]
) -> None:
    capability = unique("queue").replace("-", "")
    creator = await agents.agent("lap-boss")
    field = await racers(agents, capability)
    tasks = await create_many(creator, f"cap:{capability}", 4 * CLAIMERS)
    won: list[int] = []

    async def work(line: Raw, racer: AgentClient) -> None:
        while True:
            status, task = await line.post(racer, "/tasks/claim")
            assert status == 200, task
            if task is None:
                return
            won.append(task["id"])

    await asyncio.gather(*(work(line, racer) for line, racer in zip(lines, field, strict=True)))
    assert sorted(won) == sorted(t["id"] for t in tasks)


async def test_an_expired_lease_reopens_and_fencing_refuses_the_old_holder(
    agents: LiveAgents,
) -> None:
    capability = unique("slow").replace("-", "")
    creator = await agents.agent("lap-boss")
    first, second = [await agents.agent(f"lap-w{i}") for i in (1, 2)]
    for worker in (first, second):
        await worker.ok("PATCH", "/me", {"capabilities": [capability]})
    task = await creator.ok(
        "POST", "/tasks", {"title": "slow", "target": f"cap:{capability}", "lease_seconds": 1}
    )
    path = f"/tasks/{task['id']}"
    [created] = await creator.ok("GET", f"{path}/events")
    async with open_stream(second, after=created["seq"], types="task") as stream:
        old = await first.ok("POST", f"{path}/claim", {})
        await first.ok("POST", f"{path}/progress", {"fence": old["fence"], "percent": 10})

        async def reopened() -> Json | None:
            shown: Json = await creator.ok("GET", path)
            return shown if shown["status"] == "open" else None

        back = await eventually(reopened, within=10, interval=0.05)
        assert (back["attempts"], back["holder"], back["progress"]) == (1, None, 10)
        late = await first.post(f"{path}/complete", {"fence": old["fence"]})
        assert (late.status_code, late.json()["code"]) == (409, "lease_expired")
        new = await second.ok("POST", f"{path}/claim", {})
        assert new["fence"] == old["fence"] + 1
        assert new["progress"] is None
        stale = await first.post(f"{path}/complete", {"fence": old["fence"], "text": "mine"})
        assert (stale.status_code, stale.json()["code"]) == (409, "stale_fence")
        done = await second.ok(
            "POST", f"{path}/complete", {"fence": new["fence"], "result": {"ok": True}}
        )
        assert (done["status"], done["holder"], done["result"]) == (
            "done",
            second.name,
            {"ok": True},
        )
        seen = await stream.until(lambda e: e.type == "task.completed")
    ours = [e for e in seen if e.payload["task"]["id"] == task["id"]]
    assert [e.type for e in ours] == [
        "task.claimed",
        "task.progress",
        "task.expired",
        "task.claimed",
        "task.completed",
    ]
    expired = ours[2].payload
    assert (expired["previous_holder"], expired["reopened"], expired["by"]) == (
        first.name,
        True,
        None,
    )


async def test_concurrent_creates_with_one_dedupe_key_make_one_task(agents: LiveAgents) -> None:
    creator = await agents.agent("lap-alerts")
    worker = await agents.agent("lap-oncall")
    key = unique("disk-full")
    body: dict[str, Any] = {"title": "disk full", "target": f"@{worker.name}", "dedupe_key": key}
    answers = await asyncio.gather(*(creator.post("/tasks", body) for _ in range(CLAIMERS)))
    statuses = Counter(r.status_code for r in answers)
    assert statuses == {201: 1, 200: CLAIMERS - 1}, statuses
    assert all(
        r.headers.get("hubbub-deduplicated") == "true" for r in answers if r.status_code == 200
    )
    assert len({r.json()["id"] for r in answers}) == 1
    task_id = answers[0].json()["id"]
    shown = await creator.ok("GET", f"/tasks/{task_id}")
    assert shown["occurrences"] == CLAIMERS
    history = await creator.ok("GET", f"/tasks/{task_id}/events")
    assert Counter(e["type"] for e in history) == {
        "task.created": 1,
        "task.deduped": CLAIMERS - 1,
    }
    inbox = await worker.inbox()
    assert [i["message"]["metadata"]["task"]["id"] for i in inbox["items"]] == [task_id]
