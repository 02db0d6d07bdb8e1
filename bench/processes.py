"""Server subprocesses: start on a free port, poll health until ready, read RSS, stop.

Every server is a context manager, so it is stopped (SIGINT, then SIGKILL) even when a
measurement fails half-way.
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.config import BENCH_DIR, HUBBUB

HEALTH = "/api/v1/health"
POST_PATH = "/api/v1/channels/general/messages"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(slots=True)
class Server:
    """One running server process."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path
    ready_seconds: float
    """From process start to the first healthy answer."""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_mb(self) -> float:
        """Resident memory now (VmRSS), in MiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no VmRSS for pid {self.pid}")

    def stop(self) -> None:
        """Graceful stop (SIGINT drains the hub's writer), SIGKILL if it hangs."""
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass(slots=True)
class HubServer:
    """A running hub and the credentials its first start provisioned."""

    server: Server
    db: Path | str
    """The SQLite file, or a PostgreSQL URL."""
    key: str
    agent: str
    admin_key: str | None = None
    """The admin key the first start wrote to the config, if it wrote one."""

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}", "X-Hubbub-Agent": self.agent}

    def agent_named(self, project: str) -> str:
        """Another agent the same machine key may act as: ``{machine}-{project}``."""
        return f"{self.agent.removesuffix('-bench')}-{project}"

    def headers_as(self, agent: str) -> dict[str, str]:
        """The headers acting as ``agent`` with this hub's machine key."""
        return {"Authorization": f"Bearer {self.key}", "X-Hubbub-Agent": agent}


def _wait_healthy(proc: subprocess.Popen[bytes], url: str, log: Path, started: float) -> float:
    """Seconds from ``started`` until ``url`` answers health; polls, never sleeps blindly."""
    deadline = started + 60
    with httpx.Client(timeout=30) as client:
        while True:
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"server exited with {proc.returncode}:\n{tail}")
            try:
                response = client.get(url + HEALTH)
                if response.status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{url} not healthy after 60 s; see {log}")
            time.sleep(0.002)


def _fd_limit(wanted: int) -> Callable[[], None]:
    """A ``preexec_fn`` raising the child's soft limit on open files to ``wanted``."""

    def raise_limit() -> None:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))

    return raise_limit


@contextmanager
def running(
    argv: list[str], log: Path, env: dict[str, str] | None = None, *, fds: int | None = None
) -> Iterator[Server]:
    """Start ``argv`` (which must listen on the port in ``--port``), wait for health, and
    stop it on exit. ``fds``: raise the server's soft limit on open files to this."""
    port = argv[argv.index("--port") + 1]
    url = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=BENCH_DIR.parent,
            preexec_fn=_fd_limit(fds) if fds else None,
        )
    server = Server(proc, url, log, 0.0)
    try:
        server.ready_seconds = _wait_healthy(proc, url, log, started)
        yield server
    finally:
        server.stop()


@contextmanager
def hub(
    workdir: Path, db: Path | str, *, synchronous: str = "FULL", fds: int | None = None
) -> Iterator[HubServer]:
    """``hubbub serve`` on ``db`` (a SQLite file or a PostgreSQL URL) with per-key rate
    limiting off, provisioning a client config in ``workdir`` on its first start. ``fds``: its
    soft limit on open files, if raised."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "config.toml"
    argv = [str(HUBBUB), "serve", "--host", "127.0.0.1", "--port", str(free_port())]
    argv += ["--db", str(db), "--config", str(config)]
    env = {
        "HUBBUB_RATE_LIMIT": "0",
        "HUBBUB_SYNCHRONOUS": synchronous,
        "XDG_CONFIG_HOME": str(workdir / "xdg-config"),
        "XDG_DATA_HOME": str(workdir / "xdg-data"),
    }
    with running(argv, workdir / "hub.log", env, fds=fds) as server:
        settings = tomllib.loads(config.read_text())
        agent = f"{settings['machine']}-bench"
        yield HubServer(server, db, settings["key"], agent, settings.get("admin_key"))


@contextmanager
def ceiling(workdir: Path, mode: str, *, synchronous: str = "FULL") -> Iterator[Server]:
    """A ceiling server from :mod:`bench.ceiling_app` (``bare`` or ``insert``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "bench.ceiling_app", "--mode", mode, "--port", str(free_port())]
    argv += ["--db", str(workdir / f"ceiling-{synchronous.lower()}.db"), "--sync", synchronous]
    with running(argv, workdir / f"ceiling-{mode}.log") as server:
        yield server
