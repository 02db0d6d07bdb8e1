"""Hooks and start-up: how long ``hubbub`` commands take to start, how fast the hub answers
an HTTP hook, and how long a DM takes from its 2xx to its text being available on each path
a model can learn of it by (channel push, the idle waiter, HTTP and command hooks, news in a
tool result). ``python -m bench.hooks`` runs these alone."""

from __future__ import annotations

import http.client
import json
import os
import queue
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

from bench import processes
from bench.config import HUBBUB, BenchConfig, scratch
from bench.progress import say
from bench.reads import Latency, summarize

PEER = "peer"  # the project of the agent that sends the DMs
SETTLE = 1.0  # seconds a started waiter gets to reach the hub before the DM is sent
PATH_TIMEOUT = 30.0  # seconds a path may take before its sample counts as lost
START_PROMPT = {"hook_event_name": "UserPromptSubmit", "prompt": "go on", "cwd": "/tmp"}


@dataclass(frozen=True, slots=True)
class HookResults:
    """Everything the hooks benchmark measured; what it could not, with the reason."""

    starts: list[Latency]
    route: list[Latency]
    delivery: list[Latency]
    skipped: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> Latency | None:
        """A timing by name, from any table."""
        return next(
            (t for t in (*self.starts, *self.route, *self.delivery) if t.name == name), None
        )


class Bench:
    """One hub, its config, and the environment commands run in."""

    def __init__(self, hub: processes.HubServer, workdir: Path) -> None:
        self.hub = hub
        self.workdir = workdir
        self.config = workdir / "config.toml"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("HUBBUB_")},
            "HUBBUB_CONFIG": str(self.config),
            "HOME": str(workdir),
        }
        self._names = count(1)
        self.peer = hub.agent_named(PEER)

    def agent(self, kind: str) -> str:
        """A fresh agent of this hub's machine, registered."""
        name = self.hub.agent_named(f"{kind}{next(self._names)}")
        self.request("GET", "/api/v1/me", agent=name)
        return name

    def request(self, method: str, path: str, *, agent: str, body: Any = None) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port(), timeout=60)
        try:
            data = None if body is None else json.dumps(body).encode()
            headers = {**self.hub.headers_as(agent), "Content-Type": "application/json"}
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def dm(self, to: str, text: str) -> float:
        """Send a DM; the monotonic time its 2xx arrived."""
        status, body = self.request(
            "POST", "/api/v1/send", agent=self.peer, body={"target": f"@{to}", "content": text}
        )
        if status != 201:
            raise RuntimeError(f"send answered {status}: {body[:200]!r}")
        return time.perf_counter()

    def port(self) -> int:
        """The hub's port."""
        return int(self.hub.url.rsplit(":", 1)[1])


def _run(argv: list[str], env: dict[str, str], stdin: str = "", cwd: Path | None = None) -> float:
    """Seconds one command took, start to exit; it must succeed."""
    started = time.perf_counter()
    done = subprocess.run(
        argv, input=stdin, capture_output=True, text=True, env=env, cwd=cwd, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{argv[1:]} exited {done.returncode}: {done.stderr[-500:]}")
    return elapsed


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def starts(bench: Bench, runs: int) -> list[Latency]:
    """CLI start to exit: ``--version``, ``whoami``, and the prompt hook with the hub up and
    down (runs alternate between commands, so a busy moment spreads over all of them)."""
    agent = bench.agent("start")
    prompt = json.dumps({"session_id": "bench-starts", **START_PROMPT})
    down = {**bench.env, "HUBBUB_URL": f"http://127.0.0.1:{_closed_port()}"}
    commands: list[tuple[str, list[str], dict[str, str], str]] = [
        ("hubbub --version", ["--version"], bench.env, ""),
        ("hubbub whoami", ["whoami", "--agent", agent], bench.env, ""),
        ("hubbub hook prompt, hub up", ["hook", "prompt", "--agent", agent], bench.env, prompt),
        ("hubbub hook prompt, hub down", ["hook", "prompt", "--agent", agent], down, prompt),
    ]
    seconds: dict[str, list[float]] = {name: [] for name, *_ in commands}
    for _, args, env, stdin in commands:  # warm the bytecode cache
        _run([str(HUBBUB), *args], env, stdin, bench.workdir)
    for _ in range(runs):
        for name, args, env, stdin in commands:
            seconds[name].append(_run([str(HUBBUB), *args], env, stdin, bench.workdir))
    return [summarize(name, seconds[name], "start to exit") for name, *_ in commands]


def route(bench: Bench, samples: int) -> list[Latency]:
    """``POST /api/v1/hooks/claude/prompt`` on one kept-alive connection with nothing new to
    tell (204) and the waiter route's immediate answer."""
    agent = bench.agent("route")
    connection = http.client.HTTPConnection("127.0.0.1", bench.port(), timeout=60)
    headers = {**bench.hub.headers_as(agent), "Content-Type": "application/json"}
    body = json.dumps({"session_id": "bench-route", **START_PROMPT}).encode()

    def once(method: str, path: str, data: bytes | None) -> float:
        started = time.perf_counter()
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        response.read()
        elapsed = time.perf_counter() - started
        if response.status not in (200, 204):
            raise RuntimeError(f"{path} answered {response.status}")
        return elapsed

    try:
        hook = "/api/v1/hooks/claude/prompt"
        wait = "/api/v1/hooks/claude/wait?session_id=bench-route&wait=0"
        for _ in range(50):
            once("POST", hook, body)
        found = [
            summarize(
                "HTTP hook, prompt, nothing new",
                [once("POST", hook, body) for _ in range(samples)],
                "kept-alive loopback round trip",
            ),
            summarize(
                "wait route, nothing new, wait=0",
                [once("GET", wait, None) for _ in range(samples)],
                "kept-alive loopback round trip",
            ),
        ]
    finally:
        connection.close()
    return found


class Lines:
    """A process's stdout lines as they come, each with the time it was read."""

    def __init__(self, stream: Any) -> None:
        self.lines: queue.Queue[tuple[float, str] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self.lines.put((time.perf_counter(), line))
        self.lines.put(None)

    def until(
        self, *, answer: int | None = None, method: str | None = None, containing: str = ""
    ) -> tuple[float, dict[str, Any]]:
        """The first JSON-RPC message that answers request ``answer`` or is a ``method``
        notification whose text has ``containing``, and when it was read."""
        deadline = time.monotonic() + PATH_TIMEOUT
        while True:
            item = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            if item is None:
                raise RuntimeError("the process ended")
            when, line = item
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if answer is not None and message.get("id") == answer:
                return when, message
            if method is not None and message.get("method") == method and containing in line:
                return when, message


@contextmanager
def mcp(bench: Bench, agent: str) -> Iterator[tuple[Callable[[str, dict[str, Any]], int], Lines]]:
    """``hubbub mcp`` as Claude Code runs it, initialized: a way to send a request (its id)
    and the lines it prints."""
    process = subprocess.Popen(
        [str(HUBBUB), "mcp", "--agent", agent],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=bench.env,
        cwd=bench.workdir,
    )
    lines = Lines(process.stdout)
    ids = count(1)

    def send(method: str, params: dict[str, Any]) -> int:
        assert process.stdin is not None
        number = next(ids)
        message = {"jsonrpc": "2.0", "id": number, "method": method, "params": params}
        process.stdin.write(json.dumps(message) + "\n")
        process.stdin.flush()
        return number

    try:
        hello = {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "bench", "version": "1"},
        }
        first = send("initialize", hello)
        lines.until(answer=first)
        assert process.stdin is not None
        process.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        process.stdin.write("\n")
        process.stdin.flush()
        yield send, lines
    finally:
        process.kill()
        process.wait()


def _channel(bench: Bench, rounds: int) -> list[float]:
    agent = bench.agent("channel")
    found: list[float] = []
    with mcp(bench, agent) as (_, lines):
        time.sleep(SETTLE)  # the push's event stream opens after the handshake
        for n in range(rounds):
            text = f"channel {n}"
            sent = bench.dm(agent, text)
            when, _ = lines.until(method="notifications/claude/channel", containing=text)
            found.append(when - sent)
    return found


def _tool_news(bench: Bench, rounds: int) -> list[float]:
    agent = bench.agent("news")
    found: list[float] = []
    with mcp(bench, agent) as (send, lines):
        for n in range(rounds):
            sent = bench.dm(agent, f"news {n}")
            asked = send("tools/call", {"name": "hubbub_whoami", "arguments": {}})
            when, answer = lines.until(answer=asked)
            if f"DM from {bench.peer}" not in json.dumps(answer):
                raise RuntimeError(f"no news line in the tool result: {answer}")
            found.append(when - sent)
    return found


def _wake(bench: Bench, rounds: int) -> list[float]:
    found: list[float] = []
    for n in range(rounds):
        agent = bench.agent("wake")
        process = subprocess.Popen(
            [str(HUBBUB), "hook", "wake", "--agent", agent, "--timeout", "120"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=bench.env,
            cwd=bench.workdir,
        )
        err = ""
        try:
            assert process.stdin is not None
            process.stdin.write(json.dumps({"session_id": f"wake-{n}"}))
            process.stdin.close()
            time.sleep(SETTLE)
            sent = bench.dm(agent, f"wake {n}")
            process.wait(timeout=PATH_TIMEOUT)
            ended = time.perf_counter()
            assert process.stderr is not None
            err = process.stderr.read()
        finally:
            process.kill()
            process.wait()
        if process.returncode != 2 or f"wake {n}" not in err:
            raise RuntimeError(f"the waiter exited {process.returncode}: {err[-300:]}")
        found.append(ended - sent)
    return found


def _http_hook(bench: Bench, rounds: int) -> list[float]:
    agent = bench.agent("http")
    found: list[float] = []
    body = {"session_id": "bench-http", **START_PROMPT}
    for n in range(rounds):
        sent = bench.dm(agent, f"http {n}")
        status, answer = bench.request(
            "POST", "/api/v1/hooks/claude/prompt", agent=agent, body=body
        )
        found.append(time.perf_counter() - sent)
        if status != 200 or f"http {n}".encode() not in answer:
            raise RuntimeError(f"the HTTP hook answered {status}: {answer[:300]!r}")
    return found


def _command_hook(bench: Bench, rounds: int) -> list[float]:
    agent = bench.agent("command")
    found: list[float] = []
    stdin = json.dumps({"session_id": "bench-command", **START_PROMPT})
    for n in range(rounds):
        sent = bench.dm(agent, f"command {n}")
        done = subprocess.run(
            [str(HUBBUB), "hook", "prompt", "--agent", agent],
            input=stdin,
            capture_output=True,
            text=True,
            env=bench.env,
            cwd=bench.workdir,
            check=False,
        )
        found.append(time.perf_counter() - sent)
        if done.returncode != 0 or f"command {n}" not in done.stdout:
            raise RuntimeError(f"the command hook exited {done.returncode}: {done.stderr}")
    return found


PATHS: list[tuple[str, Callable[[Bench, int], list[float]], str]] = [
    ("channel push (hubbub mcp)", _channel, "notifications/claude/channel read on stdout"),
    ("idle waiter exit (hook wake)", _wake, "exit 2, the DM's text on stderr"),
    ("HTTP hook answer", _http_hook, "the next prompt hook's answer has the text"),
    ("command hook answer", _command_hook, "hubbub hook prompt started after the 2xx, exited"),
    ("tool-result news (hubbub mcp)", _tool_news, "a tool call made after the 2xx, answered"),
]


def delivery(bench: Bench, rounds: int) -> tuple[list[Latency], dict[str, str]]:
    """DM 2xx → text available, on each path; a path that fails is skipped with its reason."""
    found: list[Latency] = []
    skipped: dict[str, str] = {}
    for name, path, detail in PATHS:
        say(f"hooks: DM → {name}, {rounds} samples")
        try:
            found.append(summarize(name, path(bench, rounds), detail))
        except (RuntimeError, OSError, queue.Empty, subprocess.TimeoutExpired) as error:
            skipped[name] = str(error)[:200] or type(error).__name__
    return found, skipped


def measure(cfg: BenchConfig, workdir: Path) -> HookResults:
    """Start times, the hook route, and delivery on every path, on one SQLite hub."""
    runs = max(10, cfg.samples // 10)
    rounds = max(5, cfg.samples // 25)
    with processes.hub(workdir, workdir / "hooks.db") as hub:
        bench = Bench(hub, workdir)
        bench.agent(PEER)
        say(f"hooks: command start times, {runs} runs each")
        timed = starts(bench, runs)
        skipped: dict[str, str] = {}
        routes: list[Latency] = []
        status, _ = bench.request(
            "GET", "/api/v1/hooks/claude/wait?session_id=probe&wait=0", agent=bench.peer
        )
        if status in (200, 204):
            say(f"hooks: HTTP hook route, {cfg.samples} requests")
            routes = route(bench, cfg.samples)
        else:
            skipped["HTTP hook route"] = f"the hub has no hook routes (GET wait answered {status})"
        paths, failed = delivery(bench, rounds)
    return HookResults(timed, routes, paths, {**skipped, **failed})


def main() -> None:
    """``python -m bench.hooks``: only these measurements, printed as in a full run."""

    from rich.console import Console

    cfg = BenchConfig.from_env()
    with scratch("hubbub-bench-hooks-") as tmp:
        found = measure(cfg, tmp)
    from bench.report import print_hook_tables

    print_hook_tables(found, Console(width=132))


if __name__ == "__main__":
    main()
