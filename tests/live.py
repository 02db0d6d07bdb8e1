"""Real hub processes: ``hubbub serve`` on a port-0 socket, and the ``hubbub`` CLI, both run
as subprocesses with their own XDG directories and config file."""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HUBBUB = Path(sys.executable).parent / "hubbub"
BANNER = re.compile(r"listening on (http://127\.0\.0\.1:(\d+))")
BANNER_END = "stop with Ctrl-C"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
START_TIMEOUT = 30.0
Cli = Callable[..., subprocess.CompletedProcess[str]]


def clean_env(home: Path, **overrides: str) -> dict[str, str]:
    """The environment for a subprocess: no inherited ``HUBBUB_*``, private XDG dirs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBBUB_")}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        PYTHONUNBUFFERED="1",
        NO_COLOR="1",
        COLUMNS="400",
        TERM="dumb",
    )
    env.update(overrides)
    return env


@dataclass
class LiveHub:
    """A running ``hubbub serve``."""

    process: subprocess.Popen[str]
    url: str
    port: int
    config_path: Path
    db_path: Path
    home: Path
    banner: list[str] = field(default_factory=list)

    def config(self) -> dict[str, Any]:
        with self.config_path.open("rb") as handle:
            return tomllib.load(handle)

    def request(
        self,
        method: str,
        path: str,
        *,
        key: str | None = None,
        agent: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        headers: dict[str, str] = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        if agent is not None:
            headers["X-Hubbub-Agent"] = agent
        return httpx.request(method, self.url + path, headers=headers, timeout=10, **kwargs)


class _Lines:
    """Every line a process prints, collected by a thread so the pipe never fills."""

    def __init__(self, stream: Any) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self.lines.put(ANSI.sub("", line.rstrip("\n")))
        self.lines.put(None)

    def until(self, done: str, deadline: float) -> list[str]:
        """Lines up to and including the first containing ``done``."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {done!r} in: {self.seen}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError(f"the process ended before {done!r}: {self.seen}")
            self.seen.append(line)
            if done in line:
                return list(self.seen)

    def join(self) -> None:
        self._thread.join(timeout=10)


def _wait_healthy(url: str, process: subprocess.Popen[str], deadline: float) -> None:
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"hubbub serve exited with {process.returncode}")
        try:
            if httpx.get(url + "/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} never became healthy")
        time.sleep(0.05)  # polling interval


@contextmanager
def running_hub(
    home: Path,
    *,
    port: int = 0,
    config_path: Path | None = None,
    db_path: Path | None = None,
    db: str | None = None,
    args: Sequence[str] = (),
    machine: str = "lap",
    env: Mapping[str, str] | None = None,
) -> Iterator[LiveHub]:
    """Start ``hubbub serve`` and stop it afterwards (SIGTERM, then SIGKILL); ``env`` adds
    variables (settings such as ``HUBBUB_PRESENCE_TTL_SECONDS``) to its environment. ``db``
    (a PostgreSQL URL) replaces the SQLite file ``db_path``."""
    home.mkdir(parents=True, exist_ok=True)
    config_path = config_path or home / "config" / "hubbub" / "config.toml"
    db_path = db_path or home / "hub.db"
    command = [
        str(HUBBUB),
        "serve",
        "--port",
        str(port),
        "--db",
        db or str(db_path),
        "--config",
        str(config_path),
        *args,
    ]
    stderr = (home / "serve.stderr").open("a")
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env=clean_env(
            home, **{"HUBBUB_MACHINE": machine, "HUBBUB_LOG_LEVEL": "warning", **(env or {})}
        ),
    )
    output = _Lines(process.stdout)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        try:
            banner = output.until(BANNER_END, deadline)
        except (TimeoutError, RuntimeError) as exc:
            raise RuntimeError(f"{exc}\nstderr: {(home / 'serve.stderr').read_text()}") from exc
        found = next(m for m in map(BANNER.search, banner) if m)
        url, bound = found.group(1), int(found.group(2))
        _wait_healthy(url, process, deadline)
        yield LiveHub(process, url, bound, config_path, db_path, home, banner)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        output.join()
        if process.stdout is not None:
            process.stdout.close()
        stderr.close()


def run_cli(
    args: Sequence[str],
    *,
    home: Path,
    config_path: Path,
    cwd: Path | None = None,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``hubbub ARGS`` with this config file; never raises on a non-zero exit."""
    workdir = cwd or home / "myproj"
    workdir.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [str(HUBBUB), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=workdir,
        env=clean_env(home, **{"HUBBUB_CONFIG": str(config_path), **(env or {})}),
        timeout=60,
        check=False,
    )


def cli_of(hub: LiveHub) -> Cli:
    """``run_cli`` with ``hub``'s home and config: ``cli("read", "general", HUBBUB_X="y")``."""

    def run(*args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        return run_cli(args, home=hub.home, config_path=hub.config_path, stdin=stdin, env=env)

    return run


def ok_json(done: subprocess.CompletedProcess[str]) -> Any:
    """The JSON a command printed, after checking that it succeeded."""
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    return json.loads(done.stdout)


@dataclass
class LiveCli:
    """A running ``hubbub`` command (``tail -f``) and the lines it has printed so far."""

    process: subprocess.Popen[str]
    output: _Lines

    def until(self, done: str, timeout: float = 20.0) -> list[str]:
        """Every line printed up to and including the first containing ``done``."""
        return self.output.until(done, time.monotonic() + timeout)

    def finish(self, timeout: float = 15.0) -> list[str]:
        """Wait for the process to end; every line it printed."""
        self.process.wait(timeout=timeout)
        self.output.join()
        while (line := self.output.lines.get_nowait()) is not None:
            self.output.seen.append(line)
        return list(self.output.seen)


@contextmanager
def running_cli(
    args: Sequence[str], *, home: Path, config_path: Path, cwd: Path | None = None
) -> Iterator[LiveCli]:
    """Start ``hubbub ARGS`` (stderr merged into stdout) and kill it afterwards if it still
    runs."""
    workdir = cwd or home / "myproj"
    workdir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [str(HUBBUB), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=workdir,
        env=clean_env(home, HUBBUB_CONFIG=str(config_path)),
    )
    output = _Lines(process.stdout)
    try:
        yield LiveCli(process, output)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=15)
        output.join()
        if process.stdout is not None:
            process.stdout.close()
