"""Task claims raced across two ``hubbub serve`` processes on one PostgreSQL database: of 32
claimers, half on each process, exactly one wins every round and holds the task's fence; and
claim-next from both processes hands every task of a queue to exactly one worker."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.clients import API, AgentClient, Json
from tests.live import LiveHub, running_hub
from tests.postgres import Cluster

pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.postgres]

CLAIMERS = 32
"""Half claim through one process, half through the other."""
TASKS = 25
RACES = 4
"""Races per task (released in between, so each race hands out the next fence): 100 rounds."""
QUEUE = 400
"""Tasks drained with claim-next."""
NO_LIMIT = {"HUBBUB_RATE_LIMIT": "0"}


@pytest.fixture
def database(postgres: Cluster) -> Iterator[str]:
    """A fresh database on the session's server, dropped afterwards."""
    name = postgres.new_database()
    yield postgres.url(name)
    postgres.drop_database(name)


class Line:
    """One keep-alive HTTP/1.1 connection to one hub process, acting as one agent. Thousands
    of racing requests go out; a minimal client keeps the test's CPU out of the hubs' way and
    sends each racer's request the moment the race starts."""

    def __init__(
        self, agent: AgentClient, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.agent = agent
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, hub: LiveHub, agent: AgentClient) -> Line:
        return cls(agent, *await asyncio.open_connection("127.0.0.1", hub.port))

    async def post(self, path: str, body: Json | None = None) -> tuple[int, Json]:
        """POST ``body`` (JSON) to ``path``: the status and the decoded answer."""
        data = json.dumps(body or {}).encode()
        head = (
            f"POST {API}{path} HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer {self.agent.key}"
            f"\r\nX-Hubbub-Agent: {self.agent.name}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        )
        self.writer.write(head.encode() + data)
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


@dataclass
class Field:
    """Two hub processes on one database, a creator on each, and ``CLAIMERS`` racers (distinct
    agents with one capability), the first half connected to A, the second to B."""

    a: LiveHub
    b: LiveHub
    boss: dict[str, AgentClient]
    """The creator, through A (``"a"``) and through B (``"b"``)."""
    lines: list[Line]

    def hub_of(self, line: Line) -> str:
        return "a" if self.lines.index(line) < CLAIMERS // 2 else "b"


@asynccontextmanager
async def two_hubs_and_racers(tmp_path: Path, db: str, capability: str) -> AsyncIterator[Field]:
    with (
        running_hub(tmp_path / "a", db=db, env=NO_LIMIT) as a,
        running_hub(tmp_path / "b", db=db, env=NO_LIMIT) as b,
    ):
        key = a.config()["key"]  # the database is shared: A's key works on B too
        async with (
            httpx.AsyncClient(base_url=a.url, timeout=30) as http_a,
            httpx.AsyncClient(base_url=b.url, timeout=30) as http_b,
        ):
            boss = {
                "a": AgentClient(http_a, "lap-boss", key),
                "b": AgentClient(http_b, "lap-boss", key),
            }
            await boss["a"].ok("GET", "/me")
            lines: list[Line] = []
            try:
                for i in range(CLAIMERS):
                    hub, http = (a, http_a) if i < CLAIMERS // 2 else (b, http_b)
                    racer = AgentClient(http, f"lap-racer{i:02d}", key)
                    await racer.ok("PATCH", "/me", {"capabilities": [capability]})
                    lines.append(await Line.open(hub, racer))
                yield Field(a, b, boss, lines)
            finally:
                for line in lines:
                    await line.close()


async def create(creator: AgentClient, target: str, count: int) -> list[Json]:
    """``count`` silent tasks for ``target``, created 50 at a time."""
    made: list[Json] = []
    for start in range(0, count, 50):
        batch = [
            creator.ok("POST", "/tasks", {"title": f"t{i}", "target": target, "offer": False})
            for i in range(start, min(count, start + 50))
        ]
        made += await asyncio.gather(*batch)
    return made


async def test_thirty_two_claimers_on_two_processes_have_exactly_one_winner_every_round(
    tmp_path: Path, database: str
) -> None:
    async with two_hubs_and_racers(tmp_path, database, "race") as field:
        tasks = await create(field.boss["a"], "cap:race", TASKS)
        winners_by_hub: Counter[str] = Counter()
        for task in tasks:
            path = f"/tasks/{task['id']}"
            for race in range(1, RACES + 1):
                answers = await asyncio.gather(
                    *(line.post(f"{path}/claim") for line in field.lines)
                )
                statuses = Counter(status for status, _ in answers)
                assert statuses == {200: 1, 409: CLAIMERS - 1}, (task["id"], race, statuses)
                assert {body["code"] for status, body in answers if status == 409} == {"not_open"}
                [(line, won)] = [
                    (line, body)
                    for line, (status, body) in zip(field.lines, answers, strict=True)
                    if status == 200
                ]
                winners_by_hub[field.hub_of(line)] += 1
                # The fence counts every claim of the task, whichever process made it.
                assert (won["status"], won["holder"], won["fence"]) == (
                    "claimed",
                    line.agent.name,
                    race,
                )
                # Either process now shows that winner holding that fence.
                for boss in field.boss.values():
                    shown = await boss.ok("GET", path)
                    assert (shown["status"], shown["holder"], shown["fence"]) == (
                        "claimed",
                        line.agent.name,
                        race,
                    )
                if race < RACES:
                    status, back = await line.post(f"{path}/release", {"fence": won["fence"]})
                    assert (status, back["status"]) == (200, "open"), back
        history = await field.boss["b"].ok("GET", f"/tasks/{tasks[-1]['id']}/events")
        assert [e["type"] for e in history] == ["task.created"] + [
            "task.claimed",
            "task.released",
        ] * (RACES - 1) + ["task.claimed"]
        assert [e["data"]["task"]["fence"] for e in history if e["type"] == "task.claimed"] == [
            *range(1, RACES + 1)
        ]
    # Neither process is favoured so much that the race never really crossed processes.
    assert winners_by_hub["a"] > 0, winners_by_hub
    assert winners_by_hub["b"] > 0, winners_by_hub


async def test_claim_next_from_two_processes_hands_each_task_to_exactly_one_worker(
    tmp_path: Path, database: str
) -> None:
    async with two_hubs_and_racers(tmp_path, database, "queue") as field:
        made = await create(field.boss["b"], "cap:queue", QUEUE)
        won: dict[str, list[int]] = {"a": [], "b": []}

        async def work(line: Line) -> None:
            while True:
                status, task = await line.post("/tasks/claim")
                assert status == 200, task
                if task is None:
                    return
                assert (task["holder"], task["fence"]) == (line.agent.name, 1)
                won[field.hub_of(line)].append(task["id"])

        await asyncio.gather(*(work(line) for line in field.lines))
        claimed = won["a"] + won["b"]
        assert len(claimed) == len(set(claimed))  # nobody got a task twice
        assert sorted(claimed) == sorted(t["id"] for t in made)  # and none was left out
        assert won["a"], len(won["b"])
        assert won["b"], len(won["a"])
        page = await field.boss["a"].ok(
            "GET", "/tasks", params={"target": "cap:queue", "status": "open", "limit": 10}
        )
        assert page["tasks"] == []
