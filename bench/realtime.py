"""Real-time delivery over the event stream (``GET /api/v1/events``).

Three measurements, each on a fresh ``hubbub serve`` with rate limiting off:

- **Delivery latency**: one subscriber, and one keep-alive poster sending tagged posts a
  fixed interval apart; each post's latency is from just before its request's ``sendall`` to
  the read in which its event reached the subscriber. At ``FULL`` (the target) and ``NORMAL``.
- **Fan-out**: one post to N subscribers at once, distinct agents, one stream each; the time
  from sending the post until the last (and the median) subscriber has the event, and from
  the post's answer until the last has it.
- **Posts under load with streams open**: wrk's post run with N streams open and consuming
  every event, next to the same run with none.

The poster runs here (:class:`bench.rawhttp.Poster`, blocking, no client library); the
subscribers run in their own process (:mod:`bench.subscribers`), so reading a thousand
streams never delays the poster's clock, and the other way round. Before timing, every
subscriber must have received a marker post: a stream's answer head goes out before it has
subscribed to the hub's bus, so "open" alone is not "live".
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import httpx

from bench import load, posts, processes
from bench.config import BenchConfig
from bench.cpu import cpu_time
from bench.progress import say
from bench.rawhttp import Poster
from bench.reads import percentile
from bench.subscribers import Subscribers, subscribed, tagged

LATENCY_WARMUP = 20
"""Posts timed like the others at the start of the latency run, and then left out."""
ROUND_GAP = 0.1
"""Pause between fan-out rounds, so each starts on an idle hub."""
DRAIN_TIMEOUT = 30.0
"""Longest wait, after wrk stops, for the streams to take what is still queued for them."""


@dataclass(frozen=True, slots=True)
class DeliveryLatency:
    """Post → event at one subscriber, in milliseconds."""

    synchronous: str
    messages: int
    interval_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    post_p50_ms: float
    """Send → the post's answer, for comparison."""
    post_p99_ms: float
    early: int
    """Events that reached the subscriber before their post's answer reached the poster."""


@dataclass(frozen=True, slots=True)
class FanOut:
    """One post to ``subscribers`` streams, ``rounds`` times; milliseconds per round, from
    just before the post's request went out."""

    subscribers: int
    open_seconds: float
    """Time to open every stream (concurrently, 64 at a time)."""
    post_ms: list[float]
    """Send → the post's answer."""
    median_ms: list[float]
    """Send → half the subscribers have the event."""
    last_ms: list[float]
    """Send → every subscriber has the event."""
    after_answer_ms: list[float]
    """The post's answer → every subscriber has the event; negative when the hub answered
    the post only after it had written the event to every stream."""

    @property
    def last_median_ms(self) -> float:
        return statistics.median(self.last_ms)

    @property
    def last_max_ms(self) -> float:
        return max(self.last_ms)

    @property
    def median_median_ms(self) -> float:
        return statistics.median(self.median_ms)

    @property
    def post_median_ms(self) -> float:
        return statistics.median(self.post_ms)

    @property
    def after_answer_median_ms(self) -> float:
        return statistics.median(self.after_answer_ms)


@dataclass(frozen=True, slots=True)
class StreamLoad:
    """One wrk post run with ``streams`` event streams open on the posted channel."""

    streams: int
    posts: posts.PostRun
    expected: int
    """Messages posted while the streams were open: each stream should take every one."""
    delivered: list[int]
    """``message.posted`` events each stream took."""
    resyncs: int
    """Streams the hub cut off for falling behind (each gets a ``resync`` event)."""
    client_cpu: float
    """CPU seconds the subscriber process used during the wrk run."""

    @property
    def delivered_min(self) -> int:
        return min(self.delivered, default=0)

    @property
    def client_cores(self) -> float:
        return self.client_cpu / self.posts.wrk.seconds


@dataclass(frozen=True, slots=True)
class RealtimeResults:
    """Everything the real-time benchmark measured."""

    latency: list[DeliveryLatency]
    fanout: list[FanOut]
    load: list[StreamLoad]

    @property
    def load_ratio(self) -> float | None:
        """Posts/s with streams open ÷ posts/s with none."""
        without = next((r for r in self.load if r.streams == 0), None)
        with_streams = next((r for r in self.load if r.streams > 0), None)
        if without is None or with_streams is None or not without.posts.wrk.rate:
            return None
        return with_streams.posts.wrk.rate / without.posts.wrk.rate


def join(hub: processes.HubServer, agents: list[str], channel: str = "general") -> None:
    """Make each agent a member of ``channel`` (registering it on first use)."""
    with httpx.Client(base_url=hub.url, timeout=30) as client:
        for agent in agents:
            answer = client.post(f"/api/v1/channels/{channel}/join", headers=hub.headers_as(agent))
            answer.raise_for_status()


def _post(poster: Poster, body: bytes) -> tuple[float, float]:
    """Send one post; the clock just before the send and just after the whole answer."""
    prepared = poster.prepare(body)
    sent = time.perf_counter()
    status, answer = poster.send(prepared)
    answered = time.perf_counter()
    if status != 201:
        raise RuntimeError(f"post answered {status}: {answer[:300]!r}")
    return sent, answered


def barrier(poster: Poster, subscribers: Subscribers, tags: Iterator[int]) -> None:
    """Post a marker and wait until every stream has it: the streams are live (and, as a
    stream's events arrive in order, have everything posted before)."""
    tag = next(tags)
    _post(poster, tagged(tag, sync=True))
    subscribers.wait_tag(tag)


def _ms(seconds: float) -> float:
    return seconds * 1000


def latency(cfg: BenchConfig, workdir: Path, synchronous: str) -> DeliveryLatency:
    """``cfg.samples`` tagged posts ``cfg.interval_ms`` apart, one subscriber."""
    with processes.hub(workdir, workdir / "hub.db", synchronous=synchronous) as hub:
        load.warm_up(hub.url, hub.headers, cfg.warmup)
        return delivery(cfg, hub, hub.url, workdir / "subscribers.log", synchronous)


def delivery(
    cfg: BenchConfig, hub: processes.HubServer, watch_url: str, log: Path, label: str
) -> DeliveryLatency:
    """Delivery latency on a running hub: the posts go to ``hub``, the subscriber's stream
    to ``watch_url`` (the same process, or another on the same database). ``label`` names
    the setup in the results."""
    watcher = hub.agent_named("watch")
    join(hub, [watcher])
    with subscribed(watch_url, hub.key, [watcher], log) as subscribers:
        return timed(cfg, hub, subscribers, label)


def timed(
    cfg: BenchConfig, hub: processes.HubServer, subscribers: Subscribers, label: str
) -> DeliveryLatency:
    """``cfg.samples`` tagged posts ``cfg.interval_ms`` apart to ``hub``, each timed until
    the first of ``subscribers``' streams has it."""
    tags = count(1)
    interval = cfg.interval_ms / 1000
    sent: dict[int, float] = {}
    answered: dict[int, float] = {}
    with Poster(hub.url, hub.headers) as poster:
        barrier(poster, subscribers, tags)
        say(
            f"real-time latency {label}: {cfg.samples} posts "
            f"{cfg.interval_ms:g} ms apart, 1 subscriber"
        )
        due = time.perf_counter()
        for tag in range(LATENCY_WARMUP + cfg.samples):
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            sent[tag], answered[tag] = _post(poster, tagged(tag))
            due = max(due + interval, answered[tag])
        barrier(poster, subscribers, tags)
        arrivals = subscribers.stop()["arrivals"]
    measured = range(LATENCY_WARMUP, LATENCY_WARMUP + cfg.samples)
    missing = [t for t in measured if arrivals.get(str(t), [None])[0] is None]
    if missing:
        raise RuntimeError(f"{len(missing)} posts never reached the subscriber: {missing[:10]}")
    got = {t: float(arrivals[str(t)][0]) for t in measured}
    delays = sorted(_ms(got[t] - sent[t]) for t in measured)
    answers = sorted(_ms(answered[t] - sent[t]) for t in measured)
    return DeliveryLatency(
        synchronous=label,
        messages=cfg.samples,
        interval_ms=cfg.interval_ms,
        p50_ms=percentile(delays, 0.50),
        p95_ms=percentile(delays, 0.95),
        p99_ms=percentile(delays, 0.99),
        max_ms=delays[-1],
        post_p50_ms=percentile(answers, 0.50),
        post_p99_ms=percentile(answers, 0.99),
        early=sum(got[t] < answered[t] for t in measured),
    )


def fanout(cfg: BenchConfig, workdir: Path) -> list[FanOut]:
    """For each size in ``cfg.fanout``: that many subscribers (distinct agents, all members
    of the channel), and ``cfg.fanout_rounds`` posts each timed until the last has it."""
    most = max(cfg.fanout)
    db = workdir / "hub.db"
    tags = count(1)
    found: list[FanOut] = []
    with processes.hub(workdir, db, fds=most + 1024) as hub:
        load.warm_up(hub.url, hub.headers, cfg.warmup)
        agents = [hub.agent_named(f"fan-{i:04d}") for i in range(most)]
        say(f"real-time fan-out: {most:,} agents join #general")
        join(hub, agents)
        for size in cfg.fanout:
            say(f"real-time fan-out: {size:,} streams, {cfg.fanout_rounds} posts")
            log = workdir / f"subscribers-{size}.log"
            with (
                subscribed(hub.url, hub.key, agents[:size], log) as subscribers,
                Poster(hub.url, hub.headers) as poster,
            ):
                barrier(poster, subscribers, tags)
                post_ms: list[float] = []
                median_ms: list[float] = []
                last_ms: list[float] = []
                after_answer_ms: list[float] = []
                for _ in range(cfg.fanout_rounds):
                    time.sleep(ROUND_GAP)
                    tag = next(tags)
                    sent, answered = _post(poster, tagged(tag, sync=True))
                    times = subscribers.wait_tag(tag)
                    post_ms.append(_ms(answered - sent))
                    median_ms.append(_ms(statistics.median(times) - sent))
                    last_ms.append(_ms(max(times) - sent))
                    after_answer_ms.append(_ms(max(times) - answered))
                opened = float(subscribers.ready["seconds"])
            found.append(FanOut(size, opened, post_ms, median_ms, last_ms, after_answer_ms))
    return found


def _cpu(pid: int) -> float:
    """CPU seconds used so far by every thread of ``pid``."""
    used = cpu_time(pid)
    return used.loop + used.threads


def drained(subscribers: Subscribers) -> dict[str, object]:
    """Counts once every stream has stopped taking events (the hub's queues are empty)."""
    deadline = time.monotonic() + DRAIN_TIMEOUT
    last = subscribers.counts()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = subscribers.counts()
        if now["events"] == last["events"]:
            return now
        last = now
    return last


def stream_load(cfg: BenchConfig, workdir: Path, streams: int) -> StreamLoad:
    """wrk's post run at the highest client count, with ``streams`` streams open (each a
    distinct agent, a member of the posted channel; the same agents join with none open)."""
    db = workdir / "hub.db"
    clients = max(cfg.clients)
    tags = count(1)
    with processes.hub(workdir, db) as hub:
        warm = load.warm_up(hub.url, hub.headers, cfg.warmup)
        agents = [hub.agent_named(f"sse-{i:02d}") for i in range(cfg.streams)]
        join(hub, agents)
        acked = warm
        with ExitStack() as stack:
            subscribers: Subscribers | None = None
            if streams:
                log = workdir / "subscribers.log"
                subscribers = stack.enter_context(
                    subscribed(hub.url, hub.key, agents[:streams], log)
                )
                with Poster(hub.url, hub.headers) as poster:
                    barrier(poster, subscribers, tags)
                acked += 1
            say(f"real-time load: wrk, {clients} connections, {streams} streams open")
            before = _cpu(subscribers.pid) if subscribers else 0.0
            run = load.wrk(cfg, hub.url, clients, hub.headers, hub.server.pid)
            if subscribers is not None:
                client_cpu = _cpu(subscribers.pid) - before
                drained(subscribers)
                final = subscribers.stop()
                delivered: list[int] = final["events"]
                resyncs = int(final["resyncs"])
            else:
                client_cpu, delivered, resyncs = 0.0, [], 0
    rows = posts.count_messages(db)
    run_posts = posts.PostRun("FULL", run, acked + run.acked, rows)
    return StreamLoad(streams, run_posts, rows - warm, delivered, resyncs, client_cpu)


def measure(cfg: BenchConfig, workdir: Path) -> RealtimeResults:
    """Delivery latency (FULL, NORMAL), fan-out, and posts with streams open vs none."""
    found_latency = [
        latency(cfg, workdir / f"latency-{sync.lower()}", sync) for sync in ("FULL", "NORMAL")
    ]
    found_fanout = fanout(cfg, workdir / "fanout")
    found_load = [
        stream_load(cfg, workdir / f"load-{streams}", streams) for streams in (0, cfg.streams)
    ]
    return RealtimeResults(found_latency, found_fanout, found_load)
