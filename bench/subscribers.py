"""Event-stream subscribers in a process of their own: ``python -m bench.subscribers SPEC``.

One asyncio process (uvloop when installed) holds every stream: one ``asyncio.Protocol`` per
connection, a raw ``GET /api/v1/events`` (or a dashboard's ``GET /live`` on a session cookie)
and a chunked-body decoder, no HTTP client library.
Each read of a socket is stamped with ``time.perf_counter()`` once, before any parsing;
Linux's ``perf_counter`` is ``CLOCK_MONOTONIC``, shared by every process on the machine, so
the stamps compare directly with the poster's in the parent process. Per read, the work is a
few slices and C-level byte searches, so a thousand streams, or ten streams taking thousands
of events a second, cost the client little CPU of its own.

Posts to time carry a tag in their content (found in the event's JSON, or in the message's
rendered HTML on a dashboard's stream): ``rt N`` (silent: its arrival is kept until the
parent asks) or ``rt-sync N`` (announced: a line goes to the parent as soon as every stream
has it). The process talks JSON lines: on stdout ``{"ready": n, "seconds": s}`` once every
stream is open, ``{"tag": N, "times": [...]}`` per announced tag, and answers to the commands
it reads on stdin: ``counts`` (events each stream has taken so far) and ``stop`` (the same,
plus every silent arrival; then it exits). Failures are ``{"error": "..."}`` and exit 1.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import resource
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, cast

from bench.rawhttp import EVENTS_PATH, Dechunker, header, host_port, request, status_of

POSTED = b"event: message.posted"
RESYNC = b"event: resync"
# A tag in an event's JSON (the API's stream) or in a message's rendered HTML (a dashboard's).
TAG = re.compile(rb'(?:"content": ?"|<p>)rt(-sync)? (\d+)(?:"|</p>)')
TAGGED = b"rt"
OPENING = 64
"""Streams being opened at once."""


def tagged(tag: int, *, sync: bool = False) -> bytes:
    """The JSON body of a post that carries ``tag``."""
    return json.dumps({"content": f"rt-sync {tag}" if sync else f"rt {tag}"}).encode()


def raise_fd_limit(wanted: int) -> None:
    """Raise this process's soft limit on open files to ``wanted`` (within the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


# ---------------------------------------------------------------------------------------------
# The subscriber process


def _emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


class Arrivals:
    """When each stream first saw each tag."""

    def __init__(self, streams: int) -> None:
        self.streams = streams
        self.silent: dict[int, dict[int, float]] = {}
        self._sync: dict[int, dict[int, float]] = {}

    def arrived(self, stream: int, tag: int, sync: bool, now: float) -> None:
        seen = (self._sync if sync else self.silent).setdefault(tag, {})
        if stream in seen:
            return
        seen[stream] = now
        if sync and len(seen) == self.streams:
            _emit({"tag": tag, "times": [seen[i] for i in range(self.streams)]})
            del self._sync[tag]


class Stream(asyncio.Protocol):
    """One event stream: sends its request, checks the answer's head, then counts events and
    stamps tagged ones, complete events only (a read may end inside one)."""

    def __init__(self, index: int, request_bytes: bytes, arrivals: Arrivals) -> None:
        self.index = index
        self._request = request_bytes
        self._arrivals = arrivals
        self._head = b""
        self._open = False
        self._chunks = Dechunker()
        self._text = b""
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.events = 0
        self.resyncs = 0
        self.ended = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports quack like asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        if not self._open:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            head, data = self._head[:end], self._head[end + 4 :]
            self._head = b""
            if status_of(head) != 200 or header(head, b"transfer-encoding") != b"chunked":
                self._fail(f"stream {self.index} refused: {head[:300]!r}")
                return
            self._open = True
            self.opened.set_result(None)
            if not data:
                return
        self._text += self._chunks.feed(data)
        crlf, lf = self._text.rfind(b"\r\n\r\n"), self._text.rfind(b"\n\n")
        cut = max(crlf + 4 if crlf >= 0 else 0, lf + 2 if lf >= 0 else 0)
        if cut:
            done, self._text = self._text[:cut], self._text[cut:]
            self.events += done.count(POSTED)
            if RESYNC in done:
                self.resyncs += done.count(RESYNC)
            if TAGGED in done:
                for found in TAG.finditer(done):
                    self._arrivals.arrived(self.index, int(found[2]), found[1] is not None, now)
        if self._chunks.ended:
            self.close()

    def _fail(self, reason: str) -> None:
        if not self.opened.done():
            self.opened.set_exception(RuntimeError(reason))
        self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        self._fail(f"stream {self.index} closed before it opened: {exc!r}")

    def close(self) -> None:
        self.ended = True
        if self.transport is not None:
            self.transport.close()


def _requests(spec: dict[str, Any]) -> list[bytes]:
    """Each stream's request: the API's event stream as an agent (``key`` and ``agents``),
    or a dashboard's live stream on a session cookie (``path`` and ``cookies``)."""
    url = spec["url"]
    accept = {"Accept": "text/event-stream"}
    if "cookies" in spec:
        return [
            request("GET", url, spec["path"], {"Cookie": cookie, **accept})
            for cookie in spec["cookies"]
        ]
    return [
        request(
            "GET",
            url,
            EVENTS_PATH,
            {"Authorization": f"Bearer {spec['key']}", "X-Hubbub-Agent": agent, **accept},
        )
        for agent in spec["agents"]
    ]


async def _open(url: str, wires: list[bytes], arrivals: Arrivals) -> tuple[list[Stream], float]:
    loop = asyncio.get_running_loop()
    host, port = host_port(url)
    slots = asyncio.Semaphore(OPENING)
    streams: list[Stream] = []

    async def one(index: int, wire: bytes) -> None:
        async with slots:
            _, stream = await loop.create_connection(
                lambda: Stream(index, wire, arrivals), host, port
            )
            streams.append(stream)
            await asyncio.wait_for(stream.opened, 60)

    started = time.perf_counter()
    await asyncio.gather(*(one(i, wire) for i, wire in enumerate(wires)))
    return sorted(streams, key=lambda s: s.index), time.perf_counter() - started


def _counts(streams: list[Stream]) -> dict[str, Any]:
    return {
        "events": [s.events for s in streams],
        "resyncs": sum(s.resyncs for s in streams),
        "ended": sum(s.ended for s in streams),
    }


def _fatal(_: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """An exception in a protocol callback: the loop would only log it, and the parent would
    wait in vain; report it and exit."""
    _emit({"error": f"{context.get('exception')!r}: {context.get('message')}"})
    os._exit(1)


async def _serve(spec: dict[str, Any]) -> None:
    wires = _requests(spec)
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_fatal)
    commands: asyncio.Queue[str] = asyncio.Queue()

    def read_commands() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(commands.put_nowait, line.strip())
        loop.call_soon_threadsafe(commands.put_nowait, "stop")

    threading.Thread(target=read_commands, daemon=True).start()
    arrivals = Arrivals(len(wires))
    streams, seconds = await _open(spec["url"], wires, arrivals)
    _emit({"ready": len(streams), "seconds": seconds})
    try:
        while (command := await commands.get()) != "stop":
            if command == "counts":
                _emit(_counts(streams))
        silent = {
            str(tag): [seen.get(i) for i in range(len(streams))]
            for tag, seen in arrivals.silent.items()
        }
        _emit({**_counts(streams), "arrivals": silent})
    finally:
        for stream in streams:
            stream.close()


def main() -> int:
    spec: dict[str, Any] = json.loads(sys.argv[1])
    raise_fd_limit(len(spec.get("agents") or spec["cookies"]) + 256)
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    try:
        with runner:
            runner.run(_serve(spec))
    except Exception as failure:  # report it to the parent, which raises it
        _emit({"error": f"{type(failure).__name__}: {failure}"})
        return 1
    return 0


# ---------------------------------------------------------------------------------------------
# The parent's side


class Subscribers:
    """A running subscriber process: read its JSON lines with a timeout, send it commands."""

    def __init__(self, proc: subprocess.Popen[bytes], log: Path) -> None:
        self._proc = proc
        self._log = log
        self._buffer = b""
        self.ready: dict[str, Any] = {}

    @property
    def pid(self) -> int:
        return self._proc.pid

    def read(self, timeout: float) -> dict[str, Any]:
        """The next line the process wrote, as JSON; raises if it failed or stays silent."""
        assert self._proc.stdout is not None
        deadline = time.monotonic() + timeout
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"subscribers silent for {timeout:g} s; see {self._log}")
            readable, _, _ = select.select([fd], [], [], remaining)
            if readable:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    tail = self._log.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"subscribers exited ({self._proc.poll()}):\n{tail}")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        message: dict[str, Any] = json.loads(line)
        if "error" in message:
            raise RuntimeError(f"subscribers failed: {message['error']}")
        return message

    def expect(self, key: str, timeout: float) -> dict[str, Any]:
        """Read lines until one has ``key``."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.read(max(0.001, deadline - time.monotonic()))
            if key in message:
                return message

    def wait_tag(self, tag: int, timeout: float = 60) -> list[float]:
        """When each stream got the announced ``tag``."""
        while True:
            message = self.expect("tag", timeout)
            if message["tag"] == tag:
                times: list[float] = message["times"]
                return times

    def command(self, word: str) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(word.encode() + b"\n")
        self._proc.stdin.flush()

    def counts(self) -> dict[str, Any]:
        """Events each stream has taken so far."""
        self.command("counts")
        return self.expect("events", 30)

    def stop(self) -> dict[str, Any]:
        """The final counts and every silent tag's arrivals; the process then exits."""
        self.command("stop")
        final = self.expect("arrivals", 60)
        self._proc.wait(timeout=30)
        return final


@contextmanager
def subscribed(url: str, key: str, agents: list[str], log: Path) -> Iterator[Subscribers]:
    """A subscriber process with one open stream per agent in ``agents``; killed on exit."""
    with subscribing({"url": url, "key": key, "agents": agents}, log) as subscribers:
        yield subscribers


@contextmanager
def dashboards(url: str, path: str, cookies: list[str], log: Path) -> Iterator[Subscribers]:
    """A subscriber process with one dashboard live stream (``path``) per session cookie."""
    with subscribing({"url": url, "path": path, "cookies": cookies}, log) as subscribers:
        yield subscribers


@contextmanager
def subscribing(found: dict[str, Any], log: Path) -> Iterator[Subscribers]:
    spec = json.dumps(found)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.subscribers", spec],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            cwd=Path(__file__).resolve().parent.parent,
        )
    try:
        subscribers = Subscribers(proc, log)
        subscribers.ready = subscribers.expect("ready", 180)
        yield subscribers
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                with suppress(OSError):
                    pipe.close()


if __name__ == "__main__":
    sys.exit(main())
