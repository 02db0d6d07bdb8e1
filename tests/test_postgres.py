"""Several hub processes on one PostgreSQL database: a post through one reaches the streams of
another within milliseconds; killing a process under load loses no committed event for the
clients of the others; restarting PostgreSQL mid-stream resumes every stream with no gap and
no duplicate."""

from __future__ import annotations

import secrets
import statistics
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import httpx
import pytest

from tests.clients import AgentClient, Json
from tests.live import LiveHub, running_hub
from tests.postgres import Cluster, running_cluster
from tests.realtime import eventually
from tests.sse import Event, open_stream

pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.postgres]

NO_LIMIT = {"HUBBUB_RATE_LIMIT": "0"}


@pytest.fixture
def database(postgres: Cluster) -> Iterator[str]:
    """A fresh database on the session's server, dropped afterwards."""
    name = postgres.new_database()
    yield postgres.url(name)
    postgres.drop_database(name)


@pytest.fixture
def own_cluster(postgres: Cluster) -> Iterator[Cluster]:
    """A server of this test's own, which it may restart, with an empty database ``hub``."""
    with running_cluster() as cluster:
        cluster.execute("CREATE DATABASE hub")
        yield cluster


@asynccontextmanager
async def two_hubs(tmp_path: Path, db: str) -> AsyncIterator[tuple[LiveHub, LiveHub]]:
    """Two ``hubbub serve`` processes on database ``db``; the second provisions its own keys,
    but each key works on both (they share the database)."""
    with (
        running_hub(tmp_path / "a", db=db, env=NO_LIMIT) as a,
        running_hub(tmp_path / "b", db=db, env=NO_LIMIT) as b,
    ):
        yield a, b


def agent_of(hub: LiveHub, http: httpx.AsyncClient, name: str) -> AgentClient:
    """``name`` acting through ``http`` (whose base is a hub) with ``hub``'s machine key."""
    return AgentClient(http, name, hub.config()["key"])


@dataclass
class Follower:
    """A client that follows an agent's stream and resumes after its last event whenever the
    stream ends or fails, as the SDK does."""

    url: str
    agent: str
    key: str
    seen: list[Event] = field(default_factory=list)
    reconnects: int = 0

    @property
    def posted_ids(self) -> list[int]:
        return [e.payload["message"]["id"] for e in self.seen if e.type == "message.posted"]

    async def run(self, ready: anyio.Event) -> None:
        last: int | None = None
        while True:
            try:
                async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
                    client = AgentClient(http, self.agent, self.key)
                    async with open_stream(client, last_event_id=last) as stream:
                        ready.set()
                        while (event := await stream.next(within=3600)) is not None:
                            if event.id is not None:
                                self.seen.append(event)
                                last = event.id
            except (httpx.HTTPError, AssertionError):
                pass
            self.reconnects += 1
            await anyio.sleep(0.05)  # pacing between reconnects, not a wait for readiness

    async def until_posted(self, ids: list[int], within: float = 20.0) -> None:
        """Return once every message of ``ids`` has arrived."""
        wanted = set(ids)

        async def arrived() -> bool | None:
            return True if wanted <= set(self.posted_ids) else None

        await eventually(arrived, within=within, interval=0.01)


@asynccontextmanager
async def following(*followers: Follower) -> AsyncIterator[None]:
    """Run followers in the background until the block ends (each one's stream open first)."""
    async with anyio.create_task_group() as group:
        for follower in followers:
            ready = anyio.Event()
            group.start_soon(follower.run, ready)
            with anyio.fail_after(20):
                await ready.wait()
        yield
        group.cancel_scope.cancel()


async def persist(agent: AgentClient, channel: str, content: str, within: float = 30.0) -> Json:
    """Post with an idempotency key, retrying through outages until it is acknowledged."""
    key = secrets.token_hex(8)
    with anyio.fail_after(within):
        while True:
            try:
                response = await agent.post(
                    f"/channels/{channel}/messages",
                    {"content": content},
                    headers={"Idempotency-Key": key},
                )
                if response.status_code in (200, 201):
                    message: Json = response.json()
                    return message
                assert response.status_code == 503, response.text
            except httpx.TransportError:
                pass
            await anyio.sleep(0.05)  # pacing between retries


async def channel_ids(agent: AgentClient, channel: str) -> list[int]:
    """Every message id of ``channel``, oldest first, as committed."""
    found = await agent.messages(channel, after=0, limit=500)
    return [m["id"] for m in found]


async def setup_channel(writer: AgentClient, reader: AgentClient, channel: str) -> None:
    await writer.create_channel(channel)
    await reader.ok("POST", f"/channels/{channel}/join")


async def test_a_post_through_one_hub_reaches_a_stream_on_another_within_milliseconds(
    tmp_path: Path, database: str
) -> None:
    async with two_hubs(tmp_path, database) as (a, b), AsyncExitStack() as stack:
        http_a = await stack.enter_async_context(httpx.AsyncClient(base_url=a.url, timeout=30))
        http_b = await stack.enter_async_context(httpx.AsyncClient(base_url=b.url, timeout=30))
        writer = agent_of(a, http_a, "lap-writer")
        reader = agent_of(a, http_b, "lap-reader")
        await writer.ok("GET", "/me")
        await reader.ok("GET", "/me")
        await setup_channel(writer, reader, "relay")
        latencies = []
        async with open_stream(reader, types="message") as stream:
            for i in range(20):
                started = time.perf_counter()
                sent = await writer.say("relay", f"hop {i}")
                event = await stream.expect(within=5)
                latencies.append(time.perf_counter() - started)
                assert event.type == "message.posted"
                assert event.payload["message"]["id"] == sent["id"]
        # Post-to-event through two processes and the database, answer included.
        print(f"\npost on A to event on B: median {statistics.median(latencies) * 1000:.1f} ms")
        assert statistics.median(latencies) < 0.25, latencies


async def test_killing_a_hub_under_load_loses_nothing_for_the_clients_of_another(
    tmp_path: Path, database: str
) -> None:
    async with two_hubs(tmp_path, database) as (a, b), AsyncExitStack() as stack:
        http_a = await stack.enter_async_context(httpx.AsyncClient(base_url=a.url, timeout=30))
        http_b = await stack.enter_async_context(httpx.AsyncClient(base_url=b.url, timeout=30))
        key = a.config()["key"]
        writer = agent_of(a, http_a, "lap-writer")
        reader = agent_of(a, http_b, "lap-reader")
        await writer.ok("GET", "/me")
        await reader.ok("GET", "/me")
        await setup_channel(writer, reader, "load")
        follower = Follower(b.url, "lap-reader", key)
        acknowledged: list[int] = []

        async def post_until_killed(worker: int) -> None:
            for i in range(10_000):
                try:
                    sent = await writer.say("load", f"w{worker} m{i}")
                except (httpx.HTTPError, AssertionError):
                    return
                acknowledged.append(sent["id"])

        async with following(follower):
            async with anyio.create_task_group() as load:
                for worker in range(4):
                    load.start_soon(post_until_killed, worker)

                async def loaded() -> bool | None:
                    return True if len(acknowledged) >= 150 else None

                await eventually(loaded, within=30, interval=0.005)
                a.process.kill()  # mid-transaction for some of the posts under way
            committed = await channel_ids(reader, "load")
            assert set(acknowledged) <= set(committed)
            after_kill = await reader.say("load", "after the kill")  # B goes on
            await follower.until_posted([*committed, after_kill["id"]])
        assert follower.posted_ids == [*committed, after_kill["id"]]
        seqs = [e.seq for e in follower.seen]
        assert seqs == sorted(set(seqs))  # in order, never twice


async def test_restarting_postgres_mid_stream_resumes_every_stream_without_a_gap(
    tmp_path: Path, own_cluster: Cluster
) -> None:
    db = own_cluster.url("hub")
    async with two_hubs(tmp_path, db) as (a, b), AsyncExitStack() as stack:
        http_a = await stack.enter_async_context(httpx.AsyncClient(base_url=a.url, timeout=30))
        http_b = await stack.enter_async_context(httpx.AsyncClient(base_url=b.url, timeout=30))
        key = a.config()["key"]
        writer_a = agent_of(a, http_a, "lap-writer")
        writer_b = agent_of(a, http_b, "lap-writer")
        reader = agent_of(a, http_b, "lap-reader")
        await writer_a.ok("GET", "/me")
        await reader.ok("GET", "/me")
        await setup_channel(writer_a, reader, "steady")
        on_a = Follower(a.url, "lap-reader", key)
        on_b = Follower(b.url, "lap-reader", key)
        async with following(on_a, on_b):
            before = [(await persist(writer_a, "steady", f"before {i}"))["id"] for i in range(10)]
            await on_a.until_posted(before)
            await on_b.until_posted(before)
            await anyio.to_thread.run_sync(own_cluster.restart)
            after = []
            for i in range(10):
                after.append((await persist(writer_a, "steady", f"after A {i}"))["id"])
                after.append((await persist(writer_b, "steady", f"after B {i}"))["id"])
            committed = await channel_ids(reader, "steady")
            assert committed == before + after
            await on_a.until_posted(committed)
            await on_b.until_posted(committed)
        for follower in (on_a, on_b):
            assert follower.posted_ids == committed
            seqs = [e.seq for e in follower.seen]
            assert seqs == sorted(set(seqs))


def test_a_server_that_is_down_is_a_clear_start_up_error(tmp_path: Path, postgres: Cluster) -> None:
    """``hubbub serve`` on a PostgreSQL nobody listens at: one line and exit code 1."""
    with running_cluster() as cluster:
        url = cluster.url("postgres")
        cluster.stop()
    _assert_refused(tmp_path, url, "bad_db", "cannot use postgresql://")


def test_wrong_credentials_are_a_clear_start_up_error(tmp_path: Path, postgres: Cluster) -> None:
    url = postgres.tcp_url("postgres", password="wrong")
    output = _assert_refused(tmp_path, url, "bad_db", "password authentication failed")
    assert "wrong" not in output  # the password is never printed


def _assert_refused(tmp_path: Path, db: str, code: str, words: str) -> str:
    import subprocess

    from tests.live import HUBBUB, clean_env

    done = subprocess.run(
        [str(HUBBUB), "serve", "--port", "0", "--db", db, "--config", str(tmp_path / "c.toml")],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(tmp_path),
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert f"error ({code})" in output, output
    assert words in output, output
    assert "Traceback" not in output, output
    return output
