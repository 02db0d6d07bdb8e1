"""Tasks: claims a second with competing workers draining a queue, and the time from a task's
creation to its first claim, by a waiting claim-next and by a claim made on the SSE event.

One fresh hub (FULL, rate limit off). ``BENCH_TASKS`` tasks for ``cap:bench`` are created
through HTTP by 32 connections (without offers: the workers drain the queue with claim-next).
Then ``BENCH_TASK_WORKERS`` workers, each its own agent with that capability on its own
keep-alive connection, call claim-next until it answers ``null``. Every task must be claimed
exactly once. Clients are raw asyncio sockets (``rawhttp``), so the hub, not the client, is
what is measured; it still shares the two cores with them.

Latency, ``samples`` times, 10 ms apart: *wait*: a worker has ``POST /tasks/claim`` with
``wait`` pending when a creator (another connection, another thread) sends ``POST /tasks``
for it; timed from just before the creator's send to the worker's answer. *sse*: a worker
follows ``GET /events?types=task.created`` and, on each event, claims that task by id; timed
from the create's send to the claim's answer, with the event's arrival in between.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import processes, rawhttp
from bench.config import BenchConfig, scratch
from bench.cpu import cpu_time
from bench.progress import say
from bench.reads import percentile

TASKS = "/api/v1/tasks"
CLAIM_NEXT = "/api/v1/tasks/claim"
CAPABILITY = "bench"
TASK_ID = re.compile(rb'"task":\{"id":(\d+)')
"""A task's id in an event's data."""
ANSWER_ID = re.compile(rb'^\{"id":(\d+)')
"""A task's id in an answer that is a Task."""


@dataclass(frozen=True, slots=True)
class ClaimRun:
    """Workers draining a queue with claim-next."""

    tasks: int
    workers: int
    create_seconds: float
    claim_seconds: float
    claimed: int
    duplicates: int
    p50_ms: float
    p99_ms: float
    loop_cpu: float
    threads_cpu: float
    posts_per_second: float
    """The same workers posting messages instead, on the same hub right after: the baseline
    that takes this machine's speed (and load) out of the comparison."""

    @property
    def claims_per_second(self) -> float:
        return self.claimed / self.claim_seconds

    @property
    def vs_posts(self) -> float:
        return self.claims_per_second / self.posts_per_second

    @property
    def creates_per_second(self) -> float:
        return self.tasks / self.create_seconds

    @property
    def cores(self) -> float:
        return (self.loop_cpu + self.threads_cpu) / self.claim_seconds


@dataclass(frozen=True, slots=True)
class FirstClaim:
    """Creation → first claim, in milliseconds."""

    path: str
    samples: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    event_p50_ms: float | None = None
    """For ``sse``: creation → the event reaching the worker."""


@dataclass(frozen=True, slots=True)
class TaskResults:
    claims: ClaimRun
    first_claim: list[FirstClaim]


class Line:
    """One asyncio keep-alive connection sending prepared requests."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, url: str) -> Line:
        host, port = rawhttp.host_port(url)
        reader, writer = await asyncio.open_connection(host, port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def send(self, prepared: bytes) -> tuple[int, bytes]:
        self.writer.write(prepared)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = int(rawhttp.header(head[:-4], b"content-length") or b"0")
        return rawhttp.status_of(head), await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


def _ms(seconds: list[float]) -> list[float]:
    return sorted(s * 1000 for s in seconds)


async def _create(url: str, headers: dict[str, str], count: int, lines: int) -> list[int]:
    """``count`` silent tasks for ``cap:bench``, over ``lines`` connections."""
    made: list[int] = []
    numbers = iter(range(count))

    async def run() -> None:
        line = await Line.open(url)
        try:
            for i in numbers:
                task = {"title": f"task {i}", "target": f"cap:{CAPABILITY}", "offer": False}
                body = json.dumps(task).encode()
                status, answer = await line.send(rawhttp.request("POST", url, TASKS, headers, body))
                if status != 201:
                    raise RuntimeError(f"create answered {status}: {answer[:200]!r}")
                made.append(json.loads(answer)["id"])
        finally:
            line.close()

    await asyncio.gather(*(run() for _ in range(lines)))
    return made


async def _drain(url: str, workers: list[dict[str, str]]) -> tuple[list[int], list[float]]:
    """Every worker calls claim-next until there is nothing left: the ids, the latencies."""
    claimed: list[int] = []
    seconds: list[float] = []

    async def work(headers: dict[str, str]) -> None:
        line = await Line.open(url)
        prepared = rawhttp.request("POST", url, CLAIM_NEXT, headers, b"{}")
        try:
            while True:
                started = time.perf_counter()
                status, answer = await line.send(prepared)
                seconds.append(time.perf_counter() - started)
                if status != 200:
                    raise RuntimeError(f"claim-next answered {status}: {answer[:200]!r}")
                if answer == b"null":
                    return
                found = ANSWER_ID.match(answer)
                if found is None:
                    raise RuntimeError(f"not a task: {answer[:200]!r}")
                claimed.append(int(found[1]))
        finally:
            line.close()

    await asyncio.gather(*(work(headers) for headers in workers))
    return claimed, seconds


async def _post(url: str, workers: list[dict[str, str]], count: int) -> float:
    """Posts a second when the workers post ``count`` messages in ``#general`` together."""
    numbers = iter(range(count))

    async def work(headers: dict[str, str]) -> None:
        line = await Line.open(url)
        try:
            for i in numbers:
                body = json.dumps({"content": f"post {i}"}).encode()
                status, answer = await line.send(
                    rawhttp.request("POST", url, processes.POST_PATH, headers, body)
                )
                if status != 201:
                    raise RuntimeError(f"post answered {status}: {answer[:200]!r}")
        finally:
            line.close()

    started = time.perf_counter()
    await asyncio.gather(*(work(headers) for headers in workers))
    return count / (time.perf_counter() - started)


def _workers(hub: processes.HubServer, count: int, prefix: str) -> list[dict[str, str]]:
    """Headers of ``count`` new agents with the capability (set over one client)."""
    found = []
    with httpx.Client(base_url=hub.url, timeout=30) as client:
        for i in range(count):
            headers = hub.headers_as(hub.agent_named(f"{prefix}{i:02d}"))
            answer = client.patch(
                "/api/v1/me", json={"capabilities": [CAPABILITY]}, headers=headers
            )
            answer.raise_for_status()
            found.append(headers)
    return found


def claims(cfg: BenchConfig, workdir: Path, db: str | None = None) -> ClaimRun:
    """Create ``cfg.tasks`` tasks, then time ``cfg.task_workers`` workers draining them.
    ``db``: a PostgreSQL URL to run on instead of a fresh SQLite file."""
    with processes.hub(workdir, db or workdir / "claims.db") as hub:
        workers = _workers(hub, cfg.task_workers, "worker")
        say(f"tasks: creating {cfg.tasks:,} tasks")
        started = time.perf_counter()
        made = asyncio.run(_create(hub.url, hub.headers, cfg.tasks, 32))
        create_seconds = time.perf_counter() - started
        say(f"tasks: {cfg.task_workers} workers claiming")
        before = cpu_time(hub.server.pid)
        started = time.perf_counter()
        claimed, seconds = asyncio.run(_drain(hub.url, workers))
        elapsed = time.perf_counter() - started
        used = cpu_time(hub.server.pid) - before
        say(f"tasks: the same workers posting {len(claimed):,} messages, for comparison")
        posts = asyncio.run(_post(hub.url, workers, len(claimed)))
    if sorted(set(claimed)) != sorted(made):
        raise RuntimeError(f"{len(set(made) - set(claimed))} tasks were never claimed")
    ordered = _ms(seconds)
    return ClaimRun(
        tasks=len(made),
        workers=cfg.task_workers,
        create_seconds=create_seconds,
        claim_seconds=elapsed,
        claimed=len(claimed),
        duplicates=len(claimed) - len(set(claimed)),
        p50_ms=percentile(ordered, 0.5),
        p99_ms=percentile(ordered, 0.99),
        loop_cpu=used.loop,
        threads_cpu=used.threads,
        posts_per_second=posts,
    )


def _summary(path: str, seconds: list[float], events: list[float] | None = None) -> FirstClaim:
    ordered = _ms(seconds)
    return FirstClaim(
        path,
        len(ordered),
        percentile(ordered, 0.5),
        percentile(ordered, 0.95),
        percentile(ordered, 0.99),
        ordered[-1],
        statistics.median(_ms(events)) if events else None,
    )


def _by_waiting(cfg: BenchConfig, hub: processes.HubServer, worker: dict[str, str]) -> FirstClaim:
    """A worker's claim-next with ``wait`` is pending; a task for it is created."""
    name = worker["X-Hubbub-Agent"]
    body = json.dumps({"title": "urgent", "target": f"@{name}"}).encode()
    pending = threading.Event()
    answers: list[tuple[float, int, bytes]] = []

    def wait_loop() -> None:
        with rawhttp.Poster(hub.url, worker, CLAIM_NEXT) as waiter:
            prepared = waiter.prepare(b'{"wait": 30}')
            for _ in range(cfg.samples):
                pending.set()
                status, answer = waiter.send(prepared)
                answers.append((time.perf_counter(), status, answer))

    thread = threading.Thread(target=wait_loop, daemon=True)
    thread.start()
    sent: list[float] = []
    with rawhttp.Poster(hub.url, hub.headers, TASKS) as creator:
        for _ in range(cfg.samples):
            pending.wait(30)
            pending.clear()
            time.sleep(cfg.interval_ms / 1000)  # pacing, and time for the wait to subscribe
            prepared = creator.prepare(body)
            sent.append(time.perf_counter())
            status, answer = creator.send(prepared)
            if status != 201:
                raise RuntimeError(f"create answered {status}: {answer[:200]!r}")
    thread.join(60)
    if len(answers) != cfg.samples or any(status != 200 for _, status, _ in answers):
        raise RuntimeError("a waiting claim-next failed or never answered")
    return _summary("wait", [got - at for (got, _, _), at in zip(answers, sent, strict=True)])


def _by_stream(cfg: BenchConfig, hub: processes.HubServer, worker: dict[str, str]) -> FirstClaim:
    """A worker follows ``task.created`` events and claims each task it hears of."""
    name = worker["X-Hubbub-Agent"]
    body = json.dumps({"title": "urgent", "target": f"@{name}"}).encode()
    stamps: list[tuple[float, float]] = []  # (event seen, claim answered), one per task
    done = threading.Event()

    def follow() -> None:
        stream = socket.create_connection(rawhttp.host_port(hub.url), timeout=0.2)
        path = "/api/v1/events?types=task.created"
        stream.sendall(rawhttp.request("GET", hub.url, path, worker))
        chunks = rawhttp.Dechunker()
        head = pending = b""
        with rawhttp.Poster(hub.url, worker, TASKS) as claimer:
            while not done.is_set():
                found = TASK_ID.search(pending)
                if found is None:
                    try:
                        data = stream.recv(65536)
                    except TimeoutError:
                        continue
                    if not head:
                        head, _, data = data.partition(b"\r\n\r\n")
                    pending += chunks.feed(data)
                    continue
                seen = time.perf_counter()
                pending = pending[found.end() :]
                claim = rawhttp.request(
                    "POST", hub.url, f"{TASKS}/{found[1].decode()}/claim", worker, b"{}"
                )
                status, answer = claimer.send(claim)
                if status != 200:
                    raise RuntimeError(f"claim answered {status}: {answer[:200]!r}")
                stamps.append((seen, time.perf_counter()))
        stream.close()

    def heard(count: int) -> None:
        deadline = time.monotonic() + 30
        while len(stamps) < count:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the event stream stopped delivering task.created")
            time.sleep(0.0002)

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    sent: list[float] = []
    with rawhttp.Poster(hub.url, hub.headers, TASKS) as creator:
        tries = 0
        while not stamps:  # create until one is heard: from then on the stream is live
            creator.post(body)
            tries += 1
            time.sleep(0.05)
            if tries > 600:
                raise RuntimeError("the event stream never went live")
        time.sleep(0.2)  # let the claims of warm-up tasks heard meanwhile finish
        warm = len(stamps)
        for i in range(cfg.samples):
            time.sleep(cfg.interval_ms / 1000)
            prepared = creator.prepare(body)
            sent.append(time.perf_counter())
            creator.send(prepared)
            heard(warm + i + 1)  # one at a time: each sample alone on the hub
    done.set()
    thread.join(10)
    pairs = list(zip(stamps[warm:], sent, strict=True))
    return _summary(
        "sse", [got - at for (_, got), at in pairs], [seen - at for (seen, _), at in pairs]
    )


def first_claims(cfg: BenchConfig, workdir: Path) -> list[FirstClaim]:
    with processes.hub(workdir, workdir / "latency.db") as hub:
        waiter, follower = _workers(hub, 2, "fast")
        say(f"tasks: creation → first claim, {cfg.samples} samples by wait and by SSE")
        return [_by_waiting(cfg, hub, waiter), _by_stream(cfg, hub, follower)]


def measure(cfg: BenchConfig, workdir: Path) -> TaskResults:
    workdir.mkdir(parents=True, exist_ok=True)
    return TaskResults(claims(cfg, workdir / "claims"), first_claims(cfg, workdir / "latency"))


def main() -> None:
    """``python -m bench.tasks``: only these measurements, printed as in a full run."""

    from rich.console import Console

    cfg = BenchConfig.from_env()
    with scratch("hubbub-bench-tasks-") as tmp:
        found = measure(cfg, tmp)
    from bench.report import print_task_tables

    print_task_tables(found, Console())


if __name__ == "__main__":
    main()
