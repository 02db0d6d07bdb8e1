"""Load generation: wrk runs of ``post.lua`` and a short Python warm-up."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass

import httpx

from bench.config import POST_SCRIPT, BenchConfig
from bench.cpu import CpuTime, cpu_time
from bench.processes import POST_PATH

MARKER = "WRK_RESULT "


@dataclass(frozen=True, slots=True)
class WrkRun:
    """What one wrk run saw. ``status_errors`` counts answers of 400 and above."""

    connections: int
    seconds: float
    requests: int
    status_errors: int
    socket_errors: int
    timeouts: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    server_cpu: CpuTime
    """CPU the server spent during the run."""

    @property
    def acked(self) -> int:
        """Requests answered with a 2xx (the endpoints under test never redirect)."""
        return self.requests - self.status_errors

    @property
    def rate(self) -> float:
        """Successful requests a second."""
        return self.acked / self.seconds

    @property
    def loop_us(self) -> float:
        """Server main-thread (event loop) CPU microseconds per request."""
        return 1e6 * self.server_cpu.loop / max(1, self.requests)

    @property
    def threads_us(self) -> float:
        """Server CPU microseconds per request in its other threads (SQLite writer, ...)."""
        return 1e6 * self.server_cpu.threads / max(1, self.requests)

    @property
    def cores(self) -> float:
        """How many cores the server kept busy, on average."""
        return (self.server_cpu.loop + self.server_cpu.threads) / self.seconds


def wrk(cfg: BenchConfig, url: str, connections: int, headers: dict[str, str], pid: int) -> WrkRun:
    """POST to ``url`` + the message path on ``connections`` keep-alive connections for
    ``cfg.seconds``, from one wrk thread (two cores: one is left to the server), watching
    the CPU of the server process ``pid``."""
    argv = [cfg.wrk, "-t1", f"-c{connections}", f"-d{cfg.seconds}s", "--timeout", "10s"]
    argv += ["-s", str(POST_SCRIPT), url + POST_PATH]
    env = {
        **os.environ,
        "BENCH_KEY": headers.get("Authorization", "").removeprefix("Bearer "),
        "BENCH_AGENT": headers.get("X-Hubbub-Agent", "bench-load"),
    }
    before = cpu_time(pid)
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    used = cpu_time(pid) - before
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith(MARKER)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    raw = json.loads(lines[-1].removeprefix(MARKER))
    return WrkRun(
        connections=connections,
        seconds=raw["duration_us"] / 1e6,
        requests=raw["requests"],
        status_errors=raw["status"],
        socket_errors=raw["connect"] + raw["read"] + raw["write"],
        timeouts=raw["timeout"],
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        server_cpu=used,
    )


def warm_up(url: str, headers: dict[str, str], count: int) -> int:
    """POST ``count`` messages on one keep-alive connection; return how many got a 2xx."""
    acked = 0
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        for i in range(count):
            response = client.post(POST_PATH, json={"content": f"warm-up message {i}"})
            acked += response.is_success
    return acked
