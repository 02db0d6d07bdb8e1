"""kill -9 under load, again and again: the hub process on SQLite and on PostgreSQL, and the
PostgreSQL server itself, while agents post (with idempotency keys, retried until
acknowledged), claim and complete tasks, and acknowledge their inbox. At the end nothing
acknowledged is lost — no post, claim, completion or ack — and no retried post is stored
twice."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from tests.live import LiveHub, running_hub
from tests.postgres import Cluster, free_port, running_cluster
from tests.realtime import eventually

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

KILLS = int(os.environ.get("HUBBUB_TEST_KILLS", "6"))
"""Kills per test: bounded by count (more for a longer soak); each waits for fresh
acknowledged work first."""
PROGRESS_PER_ROUND = 25
TASKS = 150
POSTERS = 3
ENV = {"HUBBUB_RATE_LIMIT": "0"}


@dataclass
class Ledger:
    """What the hub acknowledged, as the clients saw it."""

    posted: dict[str, int] = field(default_factory=dict)  # content: message id
    dms: dict[str, int] = field(default_factory=dict)
    claims: dict[int, int] = field(default_factory=dict)  # task id: fence
    done: set[int] = field(default_factory=set)
    acked_up_to: int = 0
    acks: int = 0

    @property
    def progress(self) -> int:
        return len(self.posted) + len(self.dms) + len(self.claims) + len(self.done) + self.acks


class Restartable:
    """A ``hubbub serve`` on a fixed port that can be killed and started again."""

    def __init__(self, home: Path, db: str | None) -> None:
        self.home, self.db, self.port = home, db, free_port()
        self._stack = contextlib.ExitStack()
        self.hub: LiveHub = self._start()

    def _start(self) -> LiveHub:
        return self._stack.enter_context(
            running_hub(self.home, port=self.port, db=self.db, env=ENV)
        )

    def kill_and_restart(self) -> None:
        self.hub.process.send_signal(signal.SIGKILL)
        self.hub.process.wait(timeout=30)
        self._stack.close()
        self._stack = contextlib.ExitStack()
        self.hub = self._start()

    def close(self) -> None:
        self._stack.close()


def kill_postgres(cluster: Cluster) -> None:
    """SIGKILL the postmaster, then start the server again (its orphaned backends take a
    moment to notice and exit, so the start is retried)."""
    pid = int((cluster.data / "postmaster.pid").read_text().split()[0])
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while True:
        try:
            cluster.start()
            return
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)  # pacing between attempts, not a wait for a clock


class Agent:
    """One agent's requests, retried through outages until the hub answers for sure."""

    def __init__(self, http: httpx.AsyncClient, name: str, key: str) -> None:
        self.http, self.name = http, name
        self.headers = {"Authorization": f"Bearer {key}", "X-Hubbub-Agent": name}

    async def call(
        self, method: str, path: str, json: Any = None, *, key: str | None = None
    ) -> Any:
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        deadline = time.monotonic() + 120
        while True:
            try:
                response = await self.http.request(
                    method, "/api/v1" + path, json=json, headers=headers
                )
                if response.status_code < 500:
                    assert response.is_success, (path, response.status_code, response.text)
                    return response.json()
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"{method} {path} never answered"
            await anyio.sleep(0.02)  # pacing between retries


async def work(url: str, key: str, ledger: Ledger, stop: anyio.Event) -> None:
    """Posters, a DM sender, a claimer and an acker, until ``stop``."""
    limits = httpx.Limits(max_keepalive_connections=0)  # a killed hub leaves no dead sockets
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:
        claimer = Agent(http, "lap-claimer", key)
        acker = Agent(http, "lap-acker", key)
        await claimer.call("PATCH", "/me", {"capabilities": ["build"]})
        await acker.call("GET", "/me")
        boss = Agent(http, "lap-boss", key)  # claim-next takes no task of one's own
        for number in range(TASKS):
            await boss.call(
                "POST",
                "/tasks",
                {"title": f"t{number}", "target": "cap:build", "offer": False},
                key=f"task-{number}",
            )

        async def post(worker: int) -> None:
            poster = Agent(http, f"lap-poster{worker}", key)
            for number in count():
                if stop.is_set():
                    return
                content = f"w{worker}-{number}"
                sent = await poster.call(
                    "POST", "/channels/general/messages", {"content": content}, key=content
                )
                ledger.posted[content] = sent["id"]

        async def dm() -> None:
            sender = Agent(http, "lap-sender", key)
            for number in count():
                if stop.is_set():
                    return
                content = f"dm-{number}"
                sent = await sender.call(
                    "POST", "/send", {"target": "@lap-acker", "content": content}, key=content
                )
                ledger.dms[content] = sent["messages"][0]["id"]

        async def claim() -> None:
            while not stop.is_set():
                task = await claimer.call("POST", "/tasks/claim", {})
                if task is None:
                    return
                ledger.claims[task["id"]] = task["fence"]
                await claimer.call(
                    "POST", f"/tasks/{task['id']}/complete", {"fence": task["fence"]}
                )
                ledger.done.add(task["id"])

        async def ack() -> None:
            while not stop.is_set():
                inbox = await acker.call("GET", "/inbox?limit=50&wait=1")
                if inbox["items"]:
                    last = inbox["items"][-1]["id"]
                    await acker.call("POST", "/inbox/ack", {"up_to": last})
                    ledger.acked_up_to = max(ledger.acked_up_to, last)
                    ledger.acks += 1

        async with anyio.create_task_group() as group:
            for worker in range(POSTERS):
                group.start_soon(post, worker)
            group.start_soon(dm)
            group.start_soon(claim)
            group.start_soon(ack)


async def check(url: str, key: str, ledger: Ledger) -> None:
    """Every acknowledged thing is there, once."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        reader = Agent(http, "lap-poster0", key)
        contents: list[tuple[str, int]] = []
        after = 0
        while page := (
            await reader.call("GET", f"/channels/general/messages?after={after}&limit=500")
        )["messages"]:
            contents += [(m["content"], m["id"]) for m in page]
            after = page[-1]["id"]
        doubled = [c for c, n in Counter(c for c, _ in contents).items() if n > 1]
        assert not doubled, f"stored twice: {doubled[:10]}"
        stored = dict(contents)
        lost = [c for c, i in ledger.posted.items() if stored.get(c) != i]
        assert not lost, f"acknowledged but lost: {lost[:10]}"

        acker = Agent(http, "lap-acker", key)
        seen: set[int] = set()
        after = 0
        while items := (
            await acker.call("GET", f"/inbox?include_acked=true&limit=500&after={after}")
        )["items"]:
            seen |= {item["message"]["id"] for item in items}
            after = items[-1]["id"]
        missing = [c for c, i in ledger.dms.items() if i not in seen]
        assert not missing, f"acknowledged DMs without an inbox item: {missing[:10]}"
        unacked = await acker.call("GET", "/inbox?limit=500")
        reappeared = [i["id"] for i in unacked["items"] if i["id"] <= ledger.acked_up_to]
        assert not reappeared, f"acknowledged inbox items back unacknowledged: {reappeared}"

        claimer = Agent(http, "lap-claimer", key)
        for task_id, fence in ledger.claims.items():
            task = await claimer.call("GET", f"/tasks/{task_id}")
            assert task["holder"] == "lap-claimer", task
            assert task["fence"] >= fence, task
            assert task["status"] in ("claimed", "done"), task
            if task_id in ledger.done:
                assert task["status"] == "done", task


async def kill_loop(hub: Restartable, kill: Callable[[int], Awaitable[None]]) -> Ledger:
    """Run the work, killing with ``kill(round)`` after each stretch of progress."""
    ledger = Ledger()
    stop = anyio.Event()
    key = hub.hub.config()["key"]
    async with anyio.create_task_group() as group:
        group.start_soon(work, hub.hub.url, key, ledger, stop)
        for round_ in range(KILLS + 1):  # and progress after the last kill
            await eventually(progressed(ledger), within=120, interval=0.01)
            if round_ < KILLS:
                await kill(round_)
        stop.set()
    await check(hub.hub.url, key, ledger)
    assert ledger.posted, ledger
    assert ledger.claims, ledger
    assert ledger.acks, ledger
    return ledger


def progressed(ledger: Ledger) -> Callable[[], Awaitable[bool | None]]:
    """A check that passes once ``PROGRESS_PER_ROUND`` more operations are acknowledged."""
    wanted = ledger.progress + PROGRESS_PER_ROUND

    async def reached() -> bool | None:
        return True if ledger.progress >= wanted else None

    return reached


@contextlib.contextmanager
def restartable(home: Path, db: str | None = None) -> Iterator[Restartable]:
    hub = Restartable(home, db)
    try:
        yield hub
    finally:
        hub.close()


@pytest.mark.timeout(600)
async def test_killing_the_hub_on_sqlite_loses_and_doubles_nothing(tmp_path: Path) -> None:
    with restartable(tmp_path) as hub:

        async def kill(_: int) -> None:
            await anyio.to_thread.run_sync(hub.kill_and_restart)

        ledger = await kill_loop(hub, kill)
    print(f"\n{KILLS} kills of the hub on SQLite: {ledger.progress} acknowledged operations")


@pytest.mark.postgres
@pytest.mark.timeout(600)
async def test_killing_the_hub_and_postgres_loses_and_doubles_nothing(
    tmp_path: Path, postgres: Cluster
) -> None:
    with running_cluster(durable=True) as cluster:  # acknowledged means on disk
        cluster.execute("CREATE DATABASE hub")
        with restartable(tmp_path, cluster.url("hub")) as hub:

            async def kill(round_: int) -> None:
                if round_ % 2:
                    await anyio.to_thread.run_sync(kill_postgres, cluster)
                else:
                    await anyio.to_thread.run_sync(hub.kill_and_restart)

            ledger = await kill_loop(hub, kill)
    print(f"\n{KILLS} kills (hub and PostgreSQL): {ledger.progress} acknowledged operations")
